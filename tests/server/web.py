"""Logging in to the web app from Flask's test client: every form, the log-in's too, needs its CSRF token."""
from __future__ import annotations

import re

PASSWORD = "password 123"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(page: str) -> str:
    return _TOKEN.search(page)[1]


def log_in(client, username: str, password: str, headers=None, **extra):
    """One log-in attempt; the response, whatever it is."""
    token = token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, **extra},
                       headers=headers)


def session(app, username: str, password: str = PASSWORD):
    """A test client logged in as `username`, and the CSRF token of its session (a log-in starts a new one)."""
    client = app.test_client()
    response = log_in(client, username, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, token_of(client.get("/login").get_data(as_text=True))


class As:
    """A test client logged in as one user (or no one), posting forms with its CSRF token."""

    def __init__(self, app, username: str | None, password: str = PASSWORD):
        if username:
            self.client, self.token = session(app, username, password)
        else:
            self.client = app.test_client()
            self.token = token_of(self.client.get("/login").get_data(as_text=True))

    def get(self, path: str):
        return self.client.get(path)

    def text(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw):
        return self.client.post(path, data={**(data or {}), **({"csrf_token": self.token} if csrf else {})}, **kw)


def api_reader(app, store):
    """GET /api/v1 + path with a fresh bearer token: the JSON of a 200 answer (anything else fails the test)."""
    headers = {"Authorization": "Bearer " + store.accounts.create_token("tests", 0)}
    client = app.test_client()

    def get(path):
        response = client.get("/api/v1" + path, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json
    return get
