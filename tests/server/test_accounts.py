"""Accounts: sessions the server can end, passwords, disabled users, API tokens; on the admin pages and
through `ceval user ...` / `ceval token ...`, on real SQLite files."""
from __future__ import annotations

import pytest

from server.domain.passwords import hash_password, verify_password
from server.store import Store
from server.store.db import open_db

from ..helpers import ceval
from .web import PASSWORD, As, log_in


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.accounts.create_user("zhang", hash_password(PASSWORD), "manager", None, 0)


def replay(app, cookie: str):
    """A new browser carrying a copied session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/")


def is_login_page(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_cookie_replayed_after_logout_gets_the_log_in_page(app, store):
    zhang = As(app, "zhang")
    cookie = zhang.client.get_cookie("session").value
    assert replay(app, cookie).status_code == 200, "the copy works while the session lives"
    assert zhang.post("/logout").status_code == 302
    assert is_login_page(replay(app, cookie))
    assert is_login_page(zhang.get("/"))


def test_logging_out_ends_the_users_sessions_on_every_browser(app, store):
    office, home = As(app, "zhang"), As(app, "zhang")
    office.post("/logout")
    assert is_login_page(home.get("/"))


def test_a_user_changes_their_own_password_with_the_current_one(app, store):
    here, elsewhere = As(app, "zhang"), As(app, "zhang")
    assert "修改密码" in here.text("/password")
    wrong = here.post("/password", {"current": "not it at all", "new": "a new password", "again": "a new password"})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    differ = here.post("/password", {"current": PASSWORD, "new": "a new password", "again": "another one!"})
    assert differ.status_code == 400 and "不一致" in differ.get_data(as_text=True)
    short = here.post("/password", {"current": PASSWORD, "new": "short", "again": "short"})
    assert short.status_code == 400 and "至少 8 个字符" in short.get_data(as_text=True)
    assert verify_password(PASSWORD, store.accounts.user_by_name("zhang")["password_hash"])
    done = here.post("/password", {"current": PASSWORD, "new": "a new password", "again": "a new password"})
    assert done.status_code == 302
    assert here.get("/").status_code == 200, "this session goes on"
    assert is_login_page(elsewhere.get("/")), "the others end"
    assert log_in(app.test_client(), "zhang", PASSWORD).status_code == 401
    assert log_in(app.test_client(), "zhang", "a new password").status_code == 302


def test_an_admin_sets_a_password_and_the_users_sessions_end(app, store):
    root, zhang = As(app, "root"), As(app, "zhang")
    uid = store.accounts.user_by_name("zhang")["id"]
    bad = root.post(f"/admin/users/{uid}/password", {"password": "short"})
    assert bad.status_code == 400 and "至少 8 个字符" in bad.get_data(as_text=True)
    assert root.post(f"/admin/users/{uid}/password", {"password": "set by the admin"}).status_code == 302
    assert is_login_page(zhang.get("/"))
    assert log_in(app.test_client(), "zhang", "set by the admin").status_code == 302
    # the admin's own, from the same page: their session goes on
    me = store.accounts.user_by_name("root")["id"]
    assert root.post(f"/admin/users/{me}/password", {"password": "root's new one"}).status_code == 302
    assert root.get("/admin/users").status_code == 200


def test_a_disabled_user_is_logged_out_at_once_and_enabled_again(app, store):
    root, zhang = As(app, "root"), As(app, "zhang")
    uid = store.accounts.user_by_name("zhang")["id"]
    assert root.post(f"/admin/users/{uid}/disable").status_code == 302
    assert is_login_page(zhang.get("/"))
    assert log_in(app.test_client(), "zhang", PASSWORD).status_code == 401
    assert "已停用" in root.text("/admin/users")
    assert root.post(f"/admin/users/{uid}/enable").status_code == 302
    assert log_in(app.test_client(), "zhang", PASSWORD).status_code == 302


def test_the_last_active_admin_cannot_be_disabled(app, store):
    root = As(app, "root")
    me = store.accounts.user_by_name("root")["id"]
    refused = root.post(f"/admin/users/{me}/disable")
    assert refused.status_code == 400 and "最后一个" in refused.get_data(as_text=True)
    assert not store.accounts.user_by_id(me)["disabled"] and root.get("/admin/users").status_code == 200
    store.accounts.create_user("wang", hash_password(PASSWORD), "admin", None, 0)
    wang = store.accounts.user_by_name("wang")["id"]
    assert root.post(f"/admin/users/{wang}/disable").status_code == 302
    assert root.post(f"/admin/users/{me}/disable").status_code == 400, "wang is disabled: root is the last"


def test_account_pages_are_for_admins_and_need_the_csrf_token(app, store):
    zhang, root = As(app, "zhang"), As(app, "root")
    uid = store.accounts.user_by_name("root")["id"]
    for path in ("/admin/tokens", "/admin/users"):
        assert zhang.get(path).status_code == 403
    assert zhang.post(f"/admin/users/{uid}/disable").status_code == 403
    assert zhang.post("/admin/tokens", {"name": "mine"}).status_code == 403
    assert root.post(f"/admin/users/{uid}/password", {"password": "no token here"}, csrf=False).status_code == 400
    assert verify_password(PASSWORD, store.accounts.user_by_id(uid)["password_hash"])


def test_an_admin_creates_lists_and_revokes_api_tokens(app, store):
    root = As(app, "root")
    made = root.post("/admin/tokens", {"name": "政务平台"})
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and "政务平台" in page
    token = page.split('<pre id="new-token">')[1].split("</pre>")[0]
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/windows", headers=auth).status_code == 200
    assert token not in root.text("/admin/tokens"), "shown once"
    assert root.post("/admin/tokens", {"name": "  "}).status_code == 400
    [row] = store.accounts.tokens()
    assert root.post(f"/admin/tokens/{row['id']}/revoke").status_code == 302
    assert api.get("/api/v1/windows", headers=auth).status_code == 401
    assert "已吊销" in root.text("/admin/tokens")


def test_the_form_expired_page_is_styled_in_the_readers_language(app, store):
    zhang = As(app, "zhang")
    zhang.client.get("/lang/en")
    refused = zhang.post("/logout", csrf=False)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "<header" in body and 'lang="en"' in body
    assert "security token" in body.lower() and "表单" not in body
    assert zhang.get("/").status_code == 200, "nothing happened"


# ---------------------------------------------------------------- the command line
@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    for name, role in (("root", "admin"), ("zhang", "viewer")):
        assert ceval("user", "add", name, "--role", role, "--db", path, input=PASSWORD + "\n").returncode == 0
    return path


def test_user_list_passwd_disable_enable(db):
    listed = ceval("user", "list", "--db", db)
    assert listed.returncode == 0 and "zhang" in listed.stdout and "viewer" in listed.stdout
    store = Store(open_db(db))
    before = store.accounts.user_by_name("zhang")["session_token"]
    changed = ceval("user", "passwd", "zhang", "--db", db, input="changed on the server\n")
    assert changed.returncode == 0, changed.stderr
    after = store.accounts.user_by_name("zhang")
    assert verify_password("changed on the server", after["password_hash"]) and after["session_token"] != before
    assert ceval("user", "disable", "zhang", "--db", db).returncode == 0
    assert store.accounts.user_by_name("zhang")["disabled"] and "disabled" in ceval("user", "list", "--db", db).stdout
    assert ceval("user", "enable", "zhang", "--db", db).returncode == 0
    assert not store.accounts.user_by_name("zhang")["disabled"]


@pytest.mark.parametrize("args, error", [
    (("user", "passwd", "nobody"), "no user 'nobody'"),
    (("user", "disable", "nobody"), "no user 'nobody'"),
    (("user", "enable", "nobody"), "no user 'nobody'"),
    (("user", "disable", "root"), "last active admin"),
    (("token", "revoke", "nothing"), "no token"),
])
def test_user_and_token_errors_are_one_line_with_status_2(db, args, error):
    result = ceval(*args, "--db", db, input="long enough password\n")
    assert result.returncode == 2 and error in result.stderr and result.stderr.count("\n") == 1


def test_a_short_password_from_stdin_is_refused(db):
    result = ceval("user", "passwd", "zhang", "--db", db, input="short\n")
    assert result.returncode == 2 and "8 characters" in result.stderr


def test_commands_on_a_missing_database_refuse_rather_than_make_one(tmp_path):
    missing = tmp_path / "typo.sqlite3"
    for args in (("user", "list"), ("token", "list"), ("user", "disable", "x"), ("token", "revoke", "1")):
        result = ceval(*args, "--db", str(missing))
        assert result.returncode == 2 and "no database" in result.stderr
    assert not missing.exists()


def test_token_list_and_revoke_by_name_or_id(db, app):
    made = [ceval("token", "create", name, "--db", db).stdout.strip() for name in ("report", "mirror", "mirror")]
    listed = ceval("token", "list", "--db", db)
    assert listed.returncode == 0 and listed.stdout.count("active") == 3 and made[0] not in listed.stdout
    assert ceval("token", "revoke", "report", "--db", db).returncode == 0
    ambiguous = ceval("token", "revoke", "mirror", "--db", db)
    assert ambiguous.returncode == 2 and "give one id" in ambiguous.stderr
    store = Store(open_db(db))
    second = [t["id"] for t in store.accounts.tokens() if t["name"] == "mirror"][0]
    assert ceval("token", "revoke", str(second), "--db", db).returncode == 0
    assert [store.accounts.token_name(t) for t in made] == [None, None, "mirror"]
    again = ceval("token", "revoke", str(second), "--db", db)
    assert again.returncode == 2 and "revoked already" in again.stderr


def test_each_new_command_has_help():
    for args in (("user", "list"), ("user", "passwd"), ("user", "disable"), ("user", "enable"),
                 ("token", "list"), ("token", "revoke")):
        result = ceval(*args, "--help")
        assert result.returncode == 0 and "--db" in result.stdout


def test_the_upgrade_gives_every_user_a_session_token_and_drops_the_old_log_in_counts(tmp_path):
    import sqlite_utils

    from server.store.migrations import migrations

    db = sqlite_utils.Database(str(tmp_path / "old.sqlite3"))
    migrations.apply(db, stop_before="m013_sessions")
    db.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES ('old', 'x', 'admin', 0)")
    db.execute("INSERT INTO attempts (key, at) VALUES (?, 1), ('comment-address:10.0.0.1', 1), "
               "('report-mail:3', 1)", ("login-user:" + "x" * 100_000,))
    migrations.apply(db)
    [(token,)] = db.execute("SELECT session_token FROM users").fetchall()
    assert len(token) == 48
    assert db.execute("SELECT key FROM attempts").fetchall() == [("report-mail:3",)]
