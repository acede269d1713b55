"""Every route of the web app, audited at once: who may open it, and what the others get."""
from __future__ import annotations

import pytest
from werkzeug.routing import BuildError

from server.domain.passwords import hash_password
from server.web.auth import ROLES

from .web import session

# Routes open without a log-in, each for a reason.
PUBLIC = {
    "auth.login",      # the log-in itself
    "i18n.choose",     # the language switch
    "phone.form", "phone.send", "phone.thanks",  # customers' phones: a signed token instead
    "public.board", "public.board_json",           # the lobby board of sites that opt in
    "static",
    "pages.favicon",   # browsers ask for /favicon.ico before anyone logs in
    "clerk.login",     # a clerk's sign-in, with staff number and PIN
    "clerk.mine",      # a signed-in clerk's own feedback (it checks the clerk itself: test_clerk_view.py)
}
SAMPLE = {"window": "w01", "staff": "1024", "site": "hq", "device": "k1", "fmt": "csv", "code": "en", "case_id": 1,
          "appeal": 1, "run_id": 1,
          "uid": 99, "token_id": 99}  # no such user or token: the audit must not disable its own users


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    for role in ROLES:
        s.accounts.create_user(role, hash_password(f"{role} password"), role, None, 0)


def log_in(app, role):
    return session(app, role, f"{role} password")


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") or rule.endpoint in PUBLIC:
            continue
        values = {arg: SAMPLE[arg] for arg in rule.arguments}
        with app.test_request_context():
            try:
                from flask import url_for
                url = url_for(rule.endpoint, **values)
            except BuildError:
                pytest.fail(f"no sample value for {rule}")
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url, getattr(view, "required_role", None)


def test_every_page_needs_a_log_in_and_the_right_role(app, store):
    found = list(routes(app))
    assert len(found) >= 30
    missing = [endpoint for endpoint, _, _, role in found if role is None and endpoint != "auth.logout"]
    assert not missing, f"routes without login_required: {missing}"
    anonymous = app.test_client()
    clients = {role: log_in(app, role) for role in ROLES}
    for endpoint, method, url, role in found:
        if endpoint == "auth.logout":
            continue
        response = anonymous.open(url, method=method)
        if method == "POST":  # without a session there is no CSRF token: refused before anything else
            assert response.status_code == 400, (endpoint, method)
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"], (endpoint, method)
        for user, (client, token) in clients.items():
            data = {"csrf_token": token} if method == "POST" else None
            status = client.open(url, method=method, data=data).status_code
            if ROLES[user] < ROLES[role]:
                assert status == 403, (endpoint, method, user, status)
            else:
                assert status != 403 and status < 500, (endpoint, method, user, status)


def test_every_form_needs_its_csrf_token(app, store):
    client, _ = log_in(app, "admin")
    for endpoint, method, url, _ in routes(app):
        if method == "POST":
            assert client.post(url, data={}).status_code == 400, endpoint
