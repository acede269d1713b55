"""The English of a window's custom kiosk texts (issue 12): the settings page takes them beside the Chinese,
the kiosk config carries them, bad ones are refused with a message and nothing stored."""
from __future__ import annotations

import json
import re

import pytest

from shared.contract import parse_config

from .web import As
from .window_kiosk import GOOD, PAGE, alerts, kiosk_config_of, seed, window_row


@pytest.fixture
def seed_store(blank_store, clock):
    seed(blank_store, clock)


@pytest.fixture
def manager(app, store):
    return As(app, "hq-boss")


ENGLISH = {**GOOD, "title_en": " Window 1 ·  Social security ", "labels_en_3_3": "Great", "labels_en_3_1": "",
           "labels_en_5_5": "not this scale",
           "reasons": "slow 办理时间长 | Took  too long\nrude　态度 生硬",
           "phrases": "办得很快 | Quick service\n\n谢谢你们\n", "away_text_en": "Closed, please go to window 2"}


def test_english_texts_are_saved_sent_and_shown_again(manager, store):
    assert manager.post(PAGE, ENGLISH).status_code == 302
    stored = json.loads(window_row(store)["config"])
    assert (stored["title_en"], stored["labels_en"], stored["phrases_en"], stored["away_text_en"]) == (
        "Window 1 · Social security", {"3": "Great"}, ["Quick service", ""], "Closed, please go to window 2")
    config = kiosk_config_of(store)
    assert config.title_en == "Window 1 · Social security" and config.labels_en == {"3": "Great"}
    assert config.reasons == ({"code": "slow", "label": "办理时间长", "label_en": "Took too long"},
                              {"code": "rude", "label": "态度 生硬"})
    assert (config.phrases, config.phrases_en) == (("办得很快", "谢谢你们"), ("Quick service", ""))
    assert config.away_text_en == "Closed, please go to window 2"
    assert parse_config(config.to_json()) == config, "the kiosk reads it back exactly"
    html = manager.get(PAGE).get_data(as_text=True)
    assert "slow 办理时间长 | Took too long\nrude 态度 生硬" in html and "办得很快 | Quick service\n谢谢你们" in html
    assert re.search(r'name="labels_en_3_3"[^>]*value="Great"', html)
    assert 'value="Window 1 · Social security"' in html and 'value="Closed, please go to window 2"' in html


def test_a_window_without_english_sends_the_config_it_always_did(manager, store):
    assert manager.post(PAGE, GOOD).status_code == 302
    assert not any(key.endswith("_en") for key in json.loads(window_row(store)["config"]))
    assert b"_en" not in kiosk_config_of(store).to_json()


@pytest.mark.parametrize("change, message", [
    ({"title_en": "W" * 65}, "英文窗口名称最长 64 个字"),
    ({"labels_en_3_2": "x" * 33}, "2 分的英文最长 32 个字符"),
    ({"reasons": "slow 慢 | Slow | Very slow"}, "原因第 1 行：“|”只能有一个"),
    ({"reasons": "slow 慢 | " + "x" * 33}, "原因第 1 行：英文最长 32 个字符"),
    ({"phrases": "好 | Good\n | Only English"}, "快捷留言第 2 行：请在“|”前写出中文留言"),
    ({"phrases": "好 | " + "x" * 81}, "快捷留言第 1 行：英文最长 80 个字符"),
    ({"away_text_en": "x" * 81}, "英文暂停服务提示最长 80 个字"),
])
def test_bad_english_is_refused_with_a_message_and_nothing_stored(manager, store, change, message):
    before = window_row(store)
    response = manager.post(PAGE, {**ENGLISH, **change})
    assert response.status_code == 400
    assert any(message in a for a in alerts(response)), alerts(response)
    assert window_row(store) == before
