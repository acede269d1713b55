"""Phone comment limits count phones (a signed cookie) and tokens, not addresses: one QR code's token used from
many phones cannot take a window's cap from everyone else."""
from __future__ import annotations

import re

import pytest

from server.domain.comment_token import make_token
from server.web.views.phone import PHONE_COOKIE

from .web import token_of


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.db.execute("INSERT INTO windows (window, title) VALUES ('w01', '1号窗口')")


def fresh_token(app, clock) -> str:
    clock.advance(1)  # tokens differ by their signing second
    return make_token(app.config["SECRET_KEY"], "w01", clock.now())


class Phone:
    """A customer's phone: its own cookies, on an address of the hall's Wi-Fi or the mobile network."""

    def __init__(self, app, token: str, address: str = "10.0.0.1"):
        self.client, self.address = app.test_client(), address
        page = self.client.get(f"/c/w01?t={token}", environ_base={"REMOTE_ADDR": address})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        self.csrf, self.token = token_of(html), re.search(r'name="t" value="([^"]+)"', html)[1]

    def send(self, text: str) -> int:
        return self.client.post("/c/w01", data={"csrf_token": self.csrf, "t": self.token, "text": text},
                                environ_base={"REMOTE_ADDR": self.address}).status_code


def stored(store) -> int:
    return store.db.execute("SELECT count(*) FROM feedback WHERE channel = 'phone'").fetchone()[0]


def test_one_token_from_7_addresses_exhausts_only_itself(app, clock, store):
    spent = fresh_token(app, clock)
    statuses = [Phone(app, spent, f"10.7.{n}.1").send(f"第 {n}-{i} 条") for n in range(7) for i in range(3)]
    assert statuses.count(302) == 10 and statuses.count(429) == 11
    customer = Phone(app, fresh_token(app, clock), "10.0.0.1")
    assert customer.send("真正的顾客") == 302
    assert stored(store) == 11


def test_refused_tries_of_a_spent_token_take_nothing_from_the_window(app, clock, store):
    spent = fresh_token(app, clock)
    for n in range(40):
        Phone(app, spent, f"10.8.{n}.1").send("刷屏")
    assert stored(store) == 10
    others = [Phone(app, fresh_token(app, clock), f"10.9.{n}.1") for n in range(4)]
    # two more tokens' worth fill the window's 30: the limit per window still holds
    assert [phone.send(f"第 {i} 条") for phone in others for i in range(5)].count(302) == 20
    assert Phone(app, fresh_token(app, clock)).send("第 31 条") == 429
    assert stored(store) == 30


def test_one_phone_sends_5_and_another_phone_on_the_same_wifi_still_gets_through(app, clock, store):
    token = fresh_token(app, clock)
    phone = Phone(app, token, "10.0.0.7")
    assert [phone.send(f"第 {i} 条") for i in range(6)] == [302] * 5 + [429]
    refused = phone.client.post("/c/w01", data={"csrf_token": phone.csrf, "t": phone.token, "text": "再来一条"},
                                environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert refused.status_code == 429 and "再来一条" in refused.get_data(as_text=True), "the text is kept to copy"
    assert Phone(app, token, "10.0.0.7").send("同一个 Wi-Fi 的另一部手机") == 302


def test_the_phone_cookie_is_signed(app, clock, store):
    phone = Phone(app, fresh_token(app, clock))
    cookie = phone.client.get_cookie(PHONE_COOKIE, path="/c/")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    for i in range(5):
        assert phone.send(f"第 {i} 条") == 302
    phone.client.set_cookie(PHONE_COOKIE, cookie.value[:-2] + "xx", path="/c/")  # forged: a phone never seen
    assert phone.send("另一个 id") == 302
    assert phone.client.get_cookie(PHONE_COOKIE, path="/c/").value != cookie.value, "a new signed id is given"


def test_only_comments_that_would_be_stored_count(app, clock, store):
    phone = Phone(app, fresh_token(app, clock))
    for _ in range(6):
        assert phone.send("   ") == 400
    forged = phone.client.post("/c/w01", data={"csrf_token": phone.csrf, "t": "forged", "text": "x"})
    assert forged.status_code == 403
    assert phone.send("写好了") == 302
