"""The log-in limit through a real threaded HTTP server: atomic under concurrent tries, keyed by user name and
address, and a user name of any length cut before it is counted, logged or shown."""
from __future__ import annotations

import http.client
import logging
import re
import threading
from urllib.parse import urlencode

import pytest
from werkzeug.serving import make_server

from server.domain.passwords import hash_password
from server.store import Store
from server.store.db import open_db

from .web import log_in

PASSWORD = "the owner's password"
_COOKIE = re.compile(r"session=([^;]+)")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(app):
    Store(open_db(app.config["DATABASE"])).accounts.create_user("zhang", hash_password(PASSWORD), "manager", None, 0)
    http_server = make_server("127.0.0.1", 0, app, threaded=True)  # a thread per request: all 40 at once
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield http_server.server_port
    http_server.shutdown()
    thread.join()


class Browser:
    """One client with its own session cookie, from one source address."""

    def __init__(self, port: int, address: str = "127.0.0.1"):
        self.port, self.address = port, address
        page = self._request("GET", "/login")
        self.cookie = _COOKIE.search(page.getheader("Set-Cookie"))[1]
        self.token = _TOKEN.search(page.read().decode())[1]

    def _request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                                source_address=(self.address, 0))
        connection.request(method, path, body=body, headers=headers or {})
        return connection.getresponse()

    def log_in(self, username: str, password: str) -> int:
        body = urlencode({"username": username, "password": password, "csrf_token": self.token})
        response = self._request("POST", "/login", body, {"Cookie": f"session={self.cookie}",
                                                          "Content-Type": "application/x-www-form-urlencoded"})
        response.read()
        return response.status


def test_40_concurrent_wrong_passwords_are_checked_5_times_and_the_owner_still_logs_in(server):
    attackers = [Browser(server) for _ in range(40)]
    start = threading.Barrier(len(attackers))
    statuses: list[int] = []

    def attack(browser):
        start.wait()
        statuses.append(browser.log_in("zhang", "guess"))

    threads = [threading.Thread(target=attack, args=(b,)) for b in attackers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 401: the password was checked and wrong; 429: refused before any check
    assert sorted(statuses) == [401] * 5 + [429] * 35
    assert attackers[0].log_in("zhang", PASSWORD) == 429, "from the attacker's address, the account waits"
    assert Browser(server, "127.0.0.2").log_in("zhang", PASSWORD) == 302, "the owner, elsewhere, gets in"


def test_a_huge_user_name_is_cut_before_it_is_counted_logged_or_shown(app, caplog):
    client = app.test_client()
    huge = "x" * 500_000  # under the body limit: it reaches the log-in
    with caplog.at_level(logging.INFO):
        response = log_in(client, huge, "whatever")
    assert response.status_code == 401
    assert len(response.get_data()) < 20_000 and "x" * 65 not in response.get_data(as_text=True)
    logged = [r.getMessage() for r in caplog.records if "log-in" in r.getMessage()]
    assert logged and all(len(line) < 300 for line in logged) and "500000" in logged[0]
    store = Store(open_db(app.config["DATABASE"]))
    assert store.db.execute("SELECT count(*) FROM attempts").fetchone() == (0,), "nothing of it is stored"


def test_the_same_first_64_characters_do_not_open_a_64_character_account(app):
    name = "n" * 64
    Store(open_db(app.config["DATABASE"])).accounts.create_user(name, hash_password(PASSWORD), "viewer", None, 0)
    assert log_in(app.test_client(), name + "tail", PASSWORD).status_code == 401
    assert log_in(app.test_client(), name, PASSWORD).status_code == 302
