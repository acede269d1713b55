"""A window's kiosk settings page through Flask's test client, and the config the collector builds from it."""
from __future__ import annotations

import json
import logging
import re

import pytest

from server.domain.kiosk_config import Target, build_config, content_version, is_sent, version
from server.ingest.config_push import CHECK_SECONDS, ConfigPush
from shared.contract import DEFAULT_LABELS, DEFAULT_PHRASES, DEFAULT_REASONS, Config, ContractError, parse_config

from .web import As
from .window_kiosk import GOOD, PAGE, alerts, kiosk_config_of, seed, window_row


@pytest.fixture
def seed_store(blank_store, clock):
    seed(blank_store, clock)


@pytest.fixture
def manager(app, store):
    return As(app, "hq-boss")


# ---------------------------------------------------------------- the page
def test_the_page_shows_the_window_with_the_defaults(manager, store):
    response = manager.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "评价器设置：1号窗口（w01）" in html
    assert re.search(r'name="scale" value="5" checked', html)
    assert re.search(r'name="language" value="zh" checked', html)
    for scale, labels in DEFAULT_LABELS.items():
        for score, label in labels.items():
            assert re.search(rf'name="labels_{scale}_{score}"[^>]*value="{label}"', html)
    assert "slow 办理时间长\nattitude 态度不好" in html
    assert "\n".join(DEFAULT_PHRASES) in html
    clerks = re.findall(r'<option value="(\w+)"', html.split('id="clerk"')[1].split("</select>")[0])
    assert clerks == ["1024"], "active clerks of the window's site only"
    assert "评价器 k1：" in html and "待发送" in html and "从未发送" in html


def test_the_windows_page_links_to_each_kiosk_page(manager):
    html = manager.get("/admin/windows").get_data(as_text=True)
    assert 'href="/admin/windows/w01/kiosk"' in html


def test_a_window_without_a_confirmed_kiosk_says_so(app, store):
    html = As(app, "root").get("/admin/windows/w02/kiosk").get_data(as_text=True)
    assert "这个窗口还没有已确认的评价器" in html


@pytest.mark.parametrize("user, window, status", [
    (None, "w01", 302), ("look", "w01", 403), ("hq-boss", "w01", 200), ("hq-boss", "w02", 404),
    ("hq-boss", "w99", 404), ("root", "w02", 200),
])
def test_who_may_open_the_page(app, store, user, window, status):
    assert As(app, user).get(f"/admin/windows/{window}/kiosk").status_code == status


# ---------------------------------------------------------------- saving
def test_a_save_stores_title_clerk_and_settings_and_the_kiosk_config_follows(manager, store):
    response = manager.post(PAGE, GOOD)
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    row = window_row(store)
    assert (row["title"], row["clerk"]) == ("1号窗口 · 社保", "1024")
    assert json.loads(row["config"]) == {
        "scale": 3, "labels": {"1": "不好", "2": "基本满意", "3": "很好"},
        "reasons": [{"code": "slow", "label": "办理时间长"}, {"code": "rude", "label": "态度 生硬"}],
        "language": "en", "away_text": "暂停服务 请到 2 号窗口", "phrases": ["办得很快", "谢谢你们"]}

    config = kiosk_config_of(store)
    assert (config.title, config.staff, config.scale, config.language, config.away_text) == (
        "1号窗口 · 社保", {"id": "1024", "name": "张三"}, 3, "en", "暂停服务 请到 2 号窗口")
    assert config.labels == {"1": "不好", "2": "基本满意", "3": "很好"}
    assert config.reasons == ({"code": "slow", "label": "办理时间长"}, {"code": "rude", "label": "态度 生硬"})
    assert config.phrases == ("办得很快", "谢谢你们")
    assert [c["id"] for c in config.roster] == ["1024"]
    assert parse_config(config.to_json()) == config, "the kiosk reads it back exactly"

    html = manager.get(PAGE).get_data(as_text=True)
    assert "已保存窗口 w01 的评价器设置" in html
    assert re.search(r'name="scale" value="3" checked', html) and re.search(r'name="language" value="en" checked', html)
    assert "slow 办理时间长\nrude 态度 生硬" in html


def test_empty_boxes_offer_no_reasons_and_no_phrases_and_the_default_away_text(manager, store):
    assert manager.post(PAGE, {**GOOD, "reasons": " \n", "phrases": "", "away_text": "",
                               "clerk": ""}).status_code == 302
    config = kiosk_config_of(store)
    assert (config.reasons, config.phrases, config.away_text, config.staff) == ((), (), Config.away_text, None)


def test_the_defaults_saved_as_shown_stay_the_defaults(manager, store):
    """Saving the form untouched keeps the built-in texts, which the kiosk translates for English."""
    html = manager.get(PAGE).get_data(as_text=True)
    form = {"title": "1号窗口", "clerk": "", "scale": "5", "language": "zh",
            "away_text": re.search(r'id="away_text" name="away_text" value="([^"]*)"', html)[1],
            "reasons": re.search(r'id="reasons" name="reasons" rows="6">([^<]*)<', html)[1],
            "phrases": re.search(r'id="phrases" name="phrases" rows="5">([^<]*)<', html)[1]}
    form.update({f"labels_5_{s}": label for s, label in DEFAULT_LABELS[5].items()})
    assert manager.post(PAGE, form).status_code == 302
    config = kiosk_config_of(store)
    assert (config.labels, config.reasons, config.phrases, config.away_text) == (
        DEFAULT_LABELS[5], DEFAULT_REASONS, DEFAULT_PHRASES, Config.away_text)


LONG_REASONS = "\n".join(f"r{n} 原因{n}" for n in range(17))
LONG_PHRASES = "\n".join(f"留言{n}" for n in range(13))


@pytest.mark.parametrize("change, message", [
    ({"title": "  "}, "请填写窗口名称"),
    ({"title": "名" * 33}, "窗口名称最长 32 个字"),
    ({"scale": "6"}, "评价等级须为 3、4 或 5 级"),
    ({"scale": ""}, "评价等级须为 3、4 或 5 级"),
    ({"labels_3_2": "好" * 21}, "2 分的文字最长 20 个字"),
    ({"reasons": "x" * 33 + " 太长的代码"}, "原因第 1 行：代码最长 32 个字符"),
    ({"reasons": "slow 办理时间长\nwait"}, "原因第 2 行：请在代码后空一格写出原因文字"),
    ({"reasons": "slow 慢\nslow 很慢"}, "原因第 2 行：代码 slow 重复了"),
    ({"reasons": "slow " + "慢" * 21}, "原因第 1 行：原因文字最长 20 个字"),
    ({"reasons": LONG_REASONS}, "原因最多 16 条"),
    ({"phrases": LONG_PHRASES}, "快捷留言最多 12 条"),
    ({"phrases": "好\n" + "字" * 41}, "快捷留言第 2 行最长 40 个字"),
    ({"language": "fr"}, "请选择评价器的语言"),
    ({"away_text": "停" * 41}, "暂停服务提示最长 40 个字"),
    ({"clerk": "2048"}, "工号 2048 不是这个大厅在职的工作人员"),
    ({"clerk": "1031"}, "工号 1031 不是这个大厅在职的工作人员"),
    ({"clerk": "9999"}, "工号 9999 不是这个大厅在职的工作人员"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_stored(manager, store, change, message):
    before = window_row(store)
    response = manager.post(PAGE, {**GOOD, **change})
    assert response.status_code == 400
    assert any(message in a for a in alerts(response)), alerts(response)
    assert window_row(store) == before
    html = response.get_data(as_text=True)
    assert 'id="kiosk-form"' in html, "the form is shown again with what was typed"


def test_every_bad_field_is_named_at_once(manager, store):
    response = manager.post(PAGE, {**GOOD, "scale": "7", "language": "", "phrases": LONG_PHRASES})
    assert response.status_code == 400
    assert len(alerts(response)) == 3


def test_a_save_needs_the_csrf_token(manager, store):
    before = window_row(store)
    assert manager.post(PAGE, GOOD, csrf=False).status_code == 400
    assert manager.post(PAGE, {**GOOD, "csrf_token": "forged"}, csrf=False).status_code == 400
    assert window_row(store) == before


@pytest.mark.parametrize("user, window, status", [
    ("look", "w01", 403), ("hq-boss", "w02", 404), ("root", "w02", 302),
])
def test_who_may_save(app, store, user, window, status):
    before = window_row(store, window)
    response = As(app, user).post(f"/admin/windows/{window}/kiosk", {**GOOD, "clerk": ""})
    assert response.status_code == status
    assert (window_row(store, window) != before) is (status == 302)


# ---------------------------------------------------------------- reaching the kiosk
class FakeBroker:
    def __init__(self):
        self.published: list[tuple[int, str, bytes]] = []

    def publish(self, name: str, payload: bytes) -> int:
        self.published.append((len(self.published) + 1, name, payload))
        return len(self.published)


def test_the_collector_notices_a_save_and_the_page_then_says_sent(manager, store, clock):
    broker = FakeBroker()
    push = ConfigPush(store, clock, broker.publish, "the-secret", "https://pj.example.cn")
    push.run()
    push.published(1)
    assert parse_config(broker.published[0][2]).scale == 5
    assert "已发送" in manager.get(PAGE).get_data(as_text=True), "the link does not matter to the page"

    assert manager.post(PAGE, GOOD).status_code == 302
    html = manager.get(PAGE).get_data(as_text=True)
    assert "待发送" in html and "上次发送 2026-11-23 14:00:00" in html
    clock.advance(CHECK_SECONDS)
    assert push.due()
    push.run()
    assert len(broker.published) == 2, "the edit was noticed"
    sent = parse_config(broker.published[1][2])
    assert (sent.title, sent.scale, sent.language, sent.away_text) == ("1号窗口 · 社保", 3, "en", "暂停服务 请到 2 号窗口")
    assert sent.comment_url.startswith("https://pj.example.cn/c/w01?t=")
    push.published(2)
    assert "已发送" in manager.get(PAGE).get_data(as_text=True)


# ---------------------------------------------------------------- building, pure
TARGET = Target("k1", "w03", "3号窗口", "hall-a")


def test_stored_settings_shape_the_config():
    settings = json.dumps({"scale": 4, "labels": {"1": "差", "2": "一般", "3": "好", "4": "很好"}, "reasons": [],
                           "language": "en", "away_text": "Back soon", "phrases": ["Quick"]})
    config = build_config(Target("k1", "w03", "3号窗口", "hall-a", settings=settings), [], None)
    assert (config.scale, config.labels, config.reasons, config.language, config.away_text, config.phrases) == (
        4, {"1": "差", "2": "一般", "3": "好", "4": "很好"}, (), "en", "Back soon", ("Quick",))
    assert version(config) != version(build_config(TARGET, [], None))


def test_settings_that_name_only_the_scale_get_its_default_labels():
    config = build_config(Target("k1", "w03", "t", None, settings='{"scale": 3}'), [], None)
    assert (config.scale, config.labels, config.reasons) == (3, DEFAULT_LABELS[3], DEFAULT_REASONS)


@pytest.mark.parametrize("settings", ["{not json", "[1, 2]", '{"scale": 6}', '{"scale": 3, "labels": {"1": "x"}}',
                                      '{"phrases": "not a list"}'])
def test_unusable_stored_settings_send_the_defaults(settings, caplog):
    with caplog.at_level(logging.ERROR, "server.domain.kiosk_config"):
        config = build_config(Target("k1", "w03", "t", None, settings=settings), [], None)
    assert config == build_config(Target("k1", "w03", "t", None), [], None)
    assert "kiosk settings of window w03 are unusable" in caplog.text


def test_the_version_tells_the_content_from_the_link():
    with_link = build_config(TARGET, [], "https://pj.example.cn")
    without = build_config(TARGET, [], None)
    assert version(with_link) != version(without), "a new public URL is sent again"
    assert content_version(with_link) == content_version(without)
    assert is_sent(without, version(with_link)) and not is_sent(without, None)
    other = build_config(Target("k1", "w03", "3号窗口", "hall-a", settings='{"language": "en"}'), [], None)
    assert not is_sent(other, version(with_link))


def test_the_thank_you_hides_the_score_unless_the_window_shows_it(manager, store):
    assert manager.post(PAGE, GOOD).status_code == 302
    assert "thanks_show_score" not in window_row(store)["config"]
    config = kiosk_config_of(store)
    assert config.thanks_show_score is False and b"thanks_show_score" not in config.to_json()
    assert 'id="thanks_show_score" name="thanks_show_score" value="1">' in manager.get(PAGE).get_data(as_text=True)
    assert manager.post(PAGE, {**GOOD, "thanks_show_score": "1"}).status_code == 302
    config = kiosk_config_of(store)
    assert config.thanks_show_score is True and parse_config(config.to_json()) == config
    assert 'name="thanks_show_score" value="1" checked>' in manager.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize("value", ["yes", 1, 0, []])
def test_a_config_whose_thanks_show_score_is_not_a_boolean_is_refused_by_the_kiosk(value):
    with pytest.raises(ContractError, match="thanks_show_score must be true or false"):
        parse_config(json.dumps({"v": 1, "thanks_show_score": value}).encode())
