"""The phone comment form: a token signed for one window, no log-in, limits, and the stored row."""
from __future__ import annotations

import re

import pytest

from server.domain.comment_token import make_token
from server.ingest.ingestor import Ingestor
from server.web.views.phone import clean_text

from .events import event, msg
from .web import token_of


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    # the kiosk of w01 reported a rating with clerk 1024 on duty: the window exists and has its clerk
    Ingestor(s, clock).handle([msg(event(1, staff="1024", ts="2026-11-23T13:00:00.000+08:00"))])
    s.db.execute("UPDATE windows SET title = '综合受理 1 号窗' WHERE window = 'w01'")
    s.db.execute("INSERT INTO windows (window, title) VALUES ('w02', '2号窗口')")


def token(app, clock, window="w01"):
    return make_token(app.config["SECRET_KEY"], window, clock.now())


def open_form(client, app, clock, window="w01", t=None):
    page = client.get(f"/c/{window}?t={t or token(app, clock, window)}")
    return page, page.get_data(as_text=True)


def send(client, html, text, window="w01", addr="10.0.0.1"):
    data = {"csrf_token": token_of(html), "t": re.search(r'name="t" value="([^"]+)"', html)[1], "text": text}
    return client.post(f"/c/{window}", data=data, environ_base={"REMOTE_ADDR": addr})


def comments(store):
    return store.db.execute("SELECT window, staff, text, channel, rating_id, event_id FROM feedback "
                            "WHERE channel = 'phone' ORDER BY at").fetchall()


def test_the_form_opens_with_a_good_token_and_stores_the_comment(client, app, clock, store):
    page, html = open_form(client, app, clock)
    assert page.status_code == 200
    assert "综合受理 1 号窗" in html and 'maxlength="500"' in html and "<textarea" in html
    answer = send(client, html, "  等候区\r\n空调太冷了\x07  ")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/c/w01/thanks")
    assert "感谢您的留言" in client.get(answer.headers["Location"]).get_data(as_text=True)
    [(window, staff, text, channel, rating, event_id)] = comments(store)
    assert (window, staff, text, channel, rating) == ("w01", "1024", "等候区\n空调太冷了", "phone", None)
    assert event_id.startswith("phone-") and len(event_id) == 38
    stored = store.db.execute("SELECT type, window, at FROM events WHERE id = ?", (event_id,)).fetchone()
    assert stored[:2] == ("feedback", "w01") and stored[2] == int(clock.now().timestamp() * 1000)
    # it counts as the window's feedback in the figures the API and pages use
    assert store.reports.feedback_counts_of(["w01"], 0, 2**62) == {"w01": 1}


def test_an_expired_token_asks_to_scan_again(client, app, clock, store):
    t = token(app, clock)
    clock.advance(2 * 3600 - 1)
    page, html = open_form(client, app, clock, t=t)
    assert page.status_code == 200, "still good just before two hours"
    clock.advance(2)
    page, expired = open_form(client, app, clock, t=t)
    assert page.status_code == 403 and "重新扫描" in expired
    # the form opened in time but sent too late: refused, and the text is shown to copy
    answer = send(client, html, "写了很久的留言")
    assert answer.status_code == 403 and "写了很久的留言" in answer.get_data(as_text=True)
    assert comments(store) == []


def test_a_token_dated_in_the_future_is_refused(client, app, clock):
    future = make_token(app.config["SECRET_KEY"], "w01", clock.now().replace(year=2027))
    assert open_form(client, app, clock, t=future)[0].status_code == 403


@pytest.mark.parametrize("bad", ["", "garbage", "a.b.c"])
def test_a_missing_or_forged_token_is_refused(client, app, clock, bad):
    page = client.get(f"/c/w01?t={bad}")
    assert page.status_code == 403


def test_a_tampered_token_is_refused(client, app, clock):
    good = token(app, clock)
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert open_form(client, app, clock, t=flipped)[0].status_code == 403
    other_key = make_token("another server's key", "w01", clock.now())
    assert open_form(client, app, clock, t=other_key)[0].status_code == 403


def test_a_token_for_another_window_is_refused(client, app, clock, store):
    page, html = open_form(client, app, clock, window="w02", t=token(app, clock, "w01"))
    assert page.status_code == 403
    # nor can a good form be pointed at another window
    page, html = open_form(client, app, clock)
    answer = client.post("/c/w02", data={"csrf_token": token_of(html), "t": token(app, clock, "w01"), "text": "嗨"})
    assert answer.status_code == 403 and comments(store) == []


def test_an_unknown_window_is_404(client, app, clock):
    assert client.get(f"/c/w99?t={token(app, clock, 'w99')}").status_code == 404


def test_500_characters_pass_and_501_are_refused_with_the_text_kept(client, app, clock, store):
    page, html = open_form(client, app, clock)
    too_long = "长" * 501
    answer = send(client, html, too_long)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and too_long in body and "最多 500 个字" in body
    assert send(client, html, "长" * 500).status_code == 302
    assert [len(row[2]) for row in comments(store)] == [500]


@pytest.mark.parametrize("blank", ["", "   ", "\u3000\n\t", "\x00\x1b"])
def test_an_empty_comment_is_refused(client, app, clock, store, blank):
    page, html = open_form(client, app, clock)
    answer = send(client, html, blank)
    assert answer.status_code == 400 and "请先写下" in answer.get_data(as_text=True)
    assert comments(store) == []


def test_without_the_csrf_token_nothing_is_stored(client, app, clock, store):
    page, html = open_form(client, app, clock)
    answer = client.post("/c/w01", data={"t": token(app, clock), "text": "跨站"})
    assert answer.status_code == 400
    answer = client.post("/c/w01", data={"csrf_token": "not-it", "t": token(app, clock), "text": "跨站"})
    assert answer.status_code == 400
    assert comments(store) == []


def test_clean_text_keeps_line_breaks_and_drops_control_characters():
    assert clean_text("a\r\nb\rc\n\x00d\x7f\u202eе\u2066") == "a\nb\nc\ndе"
    assert clean_text("\n  意见  \n") == "意见"


def test_the_comment_shows_in_the_opinion_book(app, client, clock, store):
    from server.domain.passwords import hash_password

    page, html = open_form(client, app, clock)
    send(client, html, "手机留言：窗口很热情")
    store.accounts.create_user("viewer", hash_password("viewer pass"), "viewer", None, 0)
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "viewer", "password": "viewer pass", "csrf_token": token_of(login)})
    assert "手机留言：窗口很热情" in client.get("/comments").get_data(as_text=True)
