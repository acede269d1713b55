"""Clerks read their own feedback (server/web/views/clerk.py): signed in with staff number and PIN, the last 30 days
ending yesterday, without times of day, none of another clerk's; nothing of the managers' pages or the API."""
from __future__ import annotations

import hashlib
import re

import pytest

from server.ingest.ingestor import Ingestor
from shared.pins import hash_pin

from .events import event, msg
from .web import token_of

PIN = "24681357"


@pytest.fixture
def seed_store(blank_store, clock):
    """Now is 2026-11-23 14:00 in Shanghai. 1024 at w01: ratings today, yesterday, 10 and 40 days ago, comments
    today and yesterday; 2048 at w02: a rating and a comment yesterday."""
    s = blank_store
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_clerk("1024", "张三", "hq", hash_pin(PIN))
    s.registry.create_clerk("2048", "李四", "hq", hash_pin("13572468"))
    rows = [("2026-11-23T09:00:00.000+08:00", 1, "today-1024"), ("2026-11-22T16:30:00.000+08:00", 5, "yday-1024"),
            ("2026-11-13T10:00:00.000+08:00", 4, "tenth-1024"), ("2026-10-14T10:00:00.000+08:00", 2, "old-1024")]
    messages = [msg(event(i + 1, score=score, staff="1024", ts=ts, id=name)) for i, (ts, score, name) in enumerate(rows)]
    messages += [msg(event(5, type="feedback", staff="1024", ts="2026-11-23T09:01:00.000+08:00",
                           text="今天的留言：办得很快", rating="today-1024")),
                 msg(event(6, type="feedback", staff="1024", ts="2026-11-22T16:31:00.000+08:00",
                           text="昨天的留言：很耐心", rating="yday-1024")),
                 msg(event(1, stream="stream-w02", window="w02", staff="2048", score=1, id="yday-2048",
                           ts="2026-11-22T11:00:00.000+08:00"), device="k2"),
                 msg(event(2, type="feedback", stream="stream-w02", window="w02", staff="2048", rating="yday-2048",
                           ts="2026-11-22T11:01:00.000+08:00", text="别人的留言：态度差"), device="k2")]
    messages += [msg(event(1, stream="stream-w09", window="w09", staff="1024", score=2, id="elsewhere-1024",
                           ts="2026-11-22T11:00:00.000+08:00"), device="k9")]  # the same number at another hall
    Ingestor(s, clock).handle(messages)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    s.registry.update_window("w01", "1号窗口", "hq")
    s.registry.update_window("w02", "2号窗口", "hq")
    s.registry.update_window("w09", "9号窗口", "east")


def sign_in(client, staff: str, pin: str):
    token = token_of(client.get("/clerk/login").get_data(as_text=True))
    return client.post("/clerk/login", data={"staff": staff, "pin": pin, "csrf_token": token})


def test_a_clerk_sees_only_their_own_feedback_of_30_days_ending_yesterday(app, store):
    client = app.test_client()
    signed = sign_in(client, "1024", PIN)
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/me")
    page = client.get("/me").get_data(as_text=True)
    assert 'data-first="2026-10-24" data-last="2026-11-22"' in page
    assert 'data-total="2"' in page, "yesterday's and the 10th day's: not today's, not 40 days ago, not east's"
    assert "昨天的留言：很耐心" in page
    assert "今天的留言" not in page and "别人的留言" not in page and "李四" not in page
    comments = page.split('id="comments"')[1].split("</ul>")[0]
    assert not re.search(r"\d{1,2}:\d{2}", comments), "no time of day beside a comment"


def test_a_clerk_reaches_no_managers_page_and_no_api(app, store):
    client = app.test_client()
    sign_in(client, "1024", PIN)
    for path in ("/", "/windows/w01", "/staff/2048", "/compare", "/comments", "/cases", "/admin",
                 "/reports/monthly", "/windows/w01/audit-bundle.json"):
        assert client.get(path).status_code == 403, path
    assert client.get("/api/v1/windows").status_code == 401


def test_wrong_pins_are_refused_and_limited_and_a_new_pin_ends_the_session(app, store):
    client = app.test_client()
    assert sign_in(client, "1024", "00000000").status_code == 401
    assert sign_in(client, "9999", PIN).status_code == 401
    assert client.get("/me").status_code == 302, "not signed in: to the sign-in page"
    for _ in range(4):
        sign_in(client, "1024", "11111111")
    limited = sign_in(client, "1024", PIN)
    assert limited.status_code == 429, "the right PIN too, once the tries are used up"

    other = app.test_client()
    assert sign_in(other, "2048", "13572468").status_code == 302
    assert other.get("/me").status_code == 200
    store.registry.set_pin("2048", hash_pin("97531864"))
    assert other.get("/me").status_code == 302, "a new PIN ends the clerk's sessions"


def test_signing_out_ends_the_session_and_an_old_weak_pin_must_be_reset(app, store):
    client = app.test_client()
    sign_in(client, "1024", PIN)
    token = token_of(client.get("/clerk/login").get_data(as_text=True))
    cookie = client.get_cookie("session")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    copied = app.test_client()
    copied.set_cookie("session", cookie.value)
    assert copied.get("/me").status_code == 302, "a copied cookie of the ended session is worth nothing"
    salt = "00" * 16
    weak = f"pbkdf2_sha256$1000${salt}${hashlib.pbkdf2_hmac('sha256', b'1234', bytes.fromhex(salt), 1000).hex()}"
    store.registry.set_pin("2048", weak)
    refused = sign_in(app.test_client(), "2048", "1234")
    assert refused.status_code == 403 and "重新设置" in refused.get_data(as_text=True)
