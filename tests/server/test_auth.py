"""Log-in, roles, CSRF and the log-in rate limit, through Flask's test client on a real SQLite file."""
from __future__ import annotations

import pytest

from server.domain.passwords import hash_password, verify_password
from server.store import Store
from server.store.db import open_db
from server.web.app import create_app

from .web import log_in, token_of


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.accounts.create_user("zhang", hash_password("correct horse"), "manager", None, 0)
    s.accounts.create_user("li", hash_password("viewer pass"), "viewer", None, 0)
    s.accounts.create_user("root", hash_password("admin pass!"), "admin", None, 0)


def test_passwords_are_salted_scrypt_hashes():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("correct horse", a) and not verify_password("correct hors", a)
    assert not verify_password("x", "not a hash")
    with pytest.raises(ValueError):
        hash_password("short")


def test_pages_need_a_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/")


def test_a_log_in_opens_the_board_with_a_safe_session_cookie(client):
    response = log_in(client, "zhang", "correct horse")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200


def test_next_leads_back_but_never_off_site(client):
    token = token_of(client.get("/login").get_data(as_text=True))
    data = {"username": "zhang", "password": "correct horse", "csrf_token": token}
    assert client.post("/login?next=//evil.example/x", data=data).headers["Location"] == "/"


def test_a_wrong_password_is_401_and_repeated_ones_are_429_from_that_address_only(client):
    for _ in range(5):
        assert log_in(client, "zhang", "wrong password").status_code == 401
    assert log_in(client, "zhang", "correct horse").status_code == 429, "locked even with the right password"
    other = {"REMOTE_ADDR": "10.9.9.9"}
    token = token_of(client.get("/login").get_data(as_text=True))
    owner = client.post("/login", data={"username": "zhang", "password": "correct horse", "csrf_token": token},
                        environ_base=other)
    assert owner.status_code == 302, "failures from one address never lock the account for the others"


def test_a_successful_log_in_forgets_the_failures_before_it(client):
    for _ in range(4):
        assert log_in(client, "zhang", "wrong password").status_code == 401
    assert log_in(client, "zhang", "correct horse").status_code == 302
    for _ in range(4):
        assert log_in(client, "zhang", "wrong password").status_code == 401
    assert log_in(client, "zhang", "correct horse").status_code == 302


def test_a_form_without_its_csrf_token_is_400(client):
    log_in(client, "zhang", "correct horse")
    assert client.post("/logout").status_code == 400
    assert client.post("/login", data={"username": "zhang", "password": "correct horse"}).status_code == 400


def test_log_out_ends_the_session(client):
    log_in(client, "zhang", "correct horse")
    page = client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": token_of(page)}).status_code == 302
    assert client.get("/").status_code == 302


def test_a_disabled_account_cannot_log_in(client, store):
    store.db.execute("UPDATE users SET disabled = 1 WHERE username = 'zhang'")
    assert log_in(client, "zhang", "correct horse").status_code == 401


def test_user_add_command(tmp_path):
    from ..helpers import ceval

    db = str(tmp_path / "s.sqlite3")
    result = ceval("user", "add", "wang", "--role", "admin", "--db", db, input="a good password\n")
    assert result.returncode == 0, result.stderr
    user = Store(open_db(db)).accounts.user_by_name("wang")
    assert user["role"] == "admin" and verify_password("a good password", user["password_hash"])
    again = ceval("user", "add", "wang", "--role", "admin", "--db", db, input="a good password\n")
    assert again.returncode == 2 and "exists" in again.stderr
    short = ceval("user", "add", "zhao", "--role", "viewer", "--db", db, input="short\n")
    assert short.returncode == 2 and "8 characters" in short.stderr


def test_the_admin_page_is_for_admins_only(client):
    assert client.get("/admin/users").status_code == 302
    log_in(client, "zhang", "correct horse")
    assert client.get("/admin/users").status_code == 403
    page = client.get("/").get_data(as_text=True)
    assert client.post("/admin/users", data={"csrf_token": token_of(page), "username": "x", "password": "12345678",
                                             "role": "viewer"}).status_code == 403


def test_an_admin_adds_a_user_on_the_admin_page(client, store):
    log_in(client, "root", "admin pass!")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "zhang" in page and "管理者" in page
    token = token_of(page)
    bad = client.post("/admin/users", data={"csrf_token": token, "username": "wu", "password": "short",
                                            "role": "viewer"})
    assert bad.status_code == 400 and "密码至少 8 个字符" in bad.get_data(as_text=True)
    assert store.accounts.user_by_name("wu") is None
    good = client.post("/admin/users", data={"csrf_token": token, "username": "wu", "password": "long enough",
                                             "role": "viewer", "sites": "hall-a"})
    assert good.status_code == 302
    assert store.accounts.user_by_name("wu")["role"] == "viewer"
    assert "<script>" not in client.get("/admin/users").get_data(as_text=True)


def test_the_session_key_is_made_once_and_kept(tmp_path):
    first = create_app(settings={"DATABASE": str(tmp_path / "s.sqlite3")})
    second = create_app(settings={"DATABASE": str(tmp_path / "s.sqlite3")})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_behind_a_proxy_the_limit_per_address_uses_the_forwarded_address(tmp_path, clock):
    app = create_app({"DATABASE": str(tmp_path / "p.sqlite3"), "CLOCK": clock, "SECRET_KEY": "k", "PROXIES": 1})
    client = app.test_client()
    for n in range(30):  # 30 different user names from one phone behind the proxy
        assert log_in(client, f"nobody{n}", "x", headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 401
    token = token_of(client.get("/login").get_data(as_text=True))
    blocked = client.post("/login", data={"username": "other", "password": "x", "csrf_token": token},
                          headers={"X-Forwarded-For": "10.0.0.7"})
    other = client.post("/login", data={"username": "other", "password": "x", "csrf_token": token},
                        headers={"X-Forwarded-For": "10.0.0.8"})
    assert (blocked.status_code, other.status_code) == (429, 401)


def test_old_attempts_are_forgotten(store):
    store.accounts.record_attempt("report-mail:1", 0)
    store.accounts.record_attempt("report-mail:2", 24 * 3600 * 1000 + 1)
    assert store.db.execute("SELECT key FROM attempts").fetchall() == [("report-mail:2",)]
