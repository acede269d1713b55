"""Log-in, sessions, roles and CSRF for the managers' web app.

Roles: `viewer` reads, `manager` also follows up and runs reports for their sites, `admin` does everything. A
`clerk` (signed in with staff number and PIN, server/web/views/clerk.py) reads only their own feedback: every
page that asks for a role turns a clerk away.

Sessions are Flask-Login's, in Flask's signed cookie (HttpOnly, SameSite=Lax, Secure over TLS). The id in the
cookie is `USER_ID:SESSION_TOKEN`; logging out, a password change and disabling the user give the user a new
token, which ends every session they had, on every browser (a copied cookie included). Every form carries
Flask-WTF's CSRF token (the JSON API is exempt: it takes bearer tokens, not cookies).

Log-in tries are counted per user name and address (5 in 15 minutes; a successful log-in forgets them) and per
address (30 in 15 minutes), atomically before the password is checked: failures from one address never lock
the account for anyone else, and concurrent tries cannot get past the count.
"""
from __future__ import annotations

import functools
import logging
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, login_user, logout_user
from flask_login import current_user as _login_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from server.domain.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, verify_password
from server.web import rate_limits
from server.web.context import get_store

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

ROLES = {"viewer": 0, "manager": 1, "admin": 2}  # of users; a clerk has none of them
CLERK_PREFIX = "clerk:"  # a clerk's session id: clerk:STAFF:SESSION_TOKEN
MAX_USERNAME = 64  # longer names exist nowhere: cut before they are counted, logged or shown
LOGIN_PER_USER_AT_ADDRESS = "5 per 15 minutes"
LOGIN_PER_ADDRESS = "30 per 15 minutes"

login_manager = LoginManager()
csrf = CSRFProtect()


class Account(UserMixin):
    """A logged-in user (or clerk): their row, and the session id that names their current session token."""

    def __init__(self, row: dict):
        self.row = row

    def get_id(self) -> str:
        if self.row["role"] == "clerk":
            return f"{CLERK_PREFIX}{self.row['staff']}:{self.row['session_token']}"
        return f"{self.row['id']}:{self.row['session_token']}"

    @property
    def is_active(self) -> bool:
        return not self.row["disabled"]


def clerk_row(row: dict) -> dict:
    """A clerk of the roster as a signed-in user: role `clerk`, their staff number, nothing else."""
    return {"id": None, "username": row["staff"], "role": "clerk", "staff": row["staff"], "name": row["name"],
            "site": row["site"], "sites": [], "session_token": row["session_token"], "disabled": not row["active"]}


@login_manager.user_loader
def _load(session_id: str) -> Account | None:
    if session_id.startswith(CLERK_PREFIX):
        staff, _sep, token = session_id[len(CLERK_PREFIX):].partition(":")
        row = get_store().registry.clerk(staff)
        if row is None or not row["active"] or not row["pin_hash"] or not row["session_token"] or not token:
            return None
        return Account(clerk_row(row)) if secrets.compare_digest(row["session_token"], token) else None
    uid, _sep, token = session_id.partition(":")
    row = get_store().accounts.user_by_id(int(uid)) if uid.isdigit() else None
    if row is None or row["disabled"] or not row["session_token"] or not token:
        return None
    return Account(row) if secrets.compare_digest(row["session_token"], token) else None


def init_app(app: Flask) -> None:
    """Sessions, CSRF and the log-in limits for the app; the blueprints are registered by the app."""
    login_manager.init_app(app, add_context_processor=False)  # templates get the row: `current_user` below
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form's token lives as long as its session
    csrf.init_app(app)
    rate_limits.init_app(app)
    app.context_processor(lambda: {"current_user": current_user()})
    app.register_error_handler(CSRFError, _form_expired)


def exempt_from_csrf(blueprint: Blueprint) -> None:
    csrf.exempt(blueprint)


def _form_expired(error: CSRFError):
    log.info("form refused (%s): %s %s", error.description, request.method, request.path)
    return render_template("error.html", code=400, title=_("表单已过期"),
                           message=_("表单的安全令牌缺失或已过期：请刷新页面后重试。")), 400


def current_user() -> dict | None:
    """The logged-in user's row, or None."""
    return _login_user.row if _login_user.is_authenticated else None


def login_required(role: str = "viewer"):
    """Anonymous: to the log-in page. Logged in with too small a role: 403."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user["role"] not in ROLES or ROLES[user["role"]] < ROLES[role]:
                abort(403)
            return view(*args, **kwargs)
        wrapped.required_role = role  # for the route audit in the tests
        return wrapped
    return decorate


def safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.board")


def hashed_or_error(password: str) -> tuple[str | None, str | None]:
    """The new password's hash, or why it cannot be one (in the reader's language)."""
    try:
        return hash_password(password), None
    except ValueError:
        return None, _("密码至少 %(min)s 个字符，最多 %(max)s 个字符。", min=MIN_LENGTH, max=MAX_LENGTH)


def start_session(row: dict) -> None:
    """A fresh session for `row` (nothing of the one before is kept: no session fixation)."""
    session.clear()
    session.permanent = True
    login_user(Account(row))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", error=None, username="", first_admin=not get_store().accounts.users())
    typed = request.form.get("username", "").strip()
    username = typed[:MAX_USERNAME]
    address = request.remote_addr or "-"
    per_user = ("login-user", username.lower(), address)
    if not (rate_limits.take(LOGIN_PER_ADDRESS, "login-address", address)
            and rate_limits.take(LOGIN_PER_USER_AT_ADDRESS, *per_user)):
        log.warning("log-in refused for %r from %s: too many tries", username, address)
        return render_template("login.html", error=_("尝试次数过多，请 15 分钟后再试。"), username=username), 429
    store = get_store()
    user = store.accounts.user_by_name(username) if len(typed) <= MAX_USERNAME else None
    if user and not user["disabled"] and verify_password(request.form.get("password", ""), user["password_hash"]):
        rate_limits.forget(LOGIN_PER_USER_AT_ADDRESS, *per_user)
        if not user["session_token"]:  # a row made outside the store
            user = {**user, "session_token": store.accounts.end_sessions(user["id"])}
        start_session(user)
        return redirect(safe_next(request.args.get("next")))
    log.warning("failed log-in for %r%s from %s", username,
                f" (cut from {len(typed)} characters)" if len(typed) > MAX_USERNAME else "", address)
    return render_template("login.html", error=_("用户名或密码不正确。"), username=username,
                           first_admin=not store.accounts.users()), 401


@bp.post("/logout")
def logout():
    user = current_user()
    if user is not None and user["role"] == "clerk":
        get_store().registry.end_clerk_sessions(user["staff"])
    elif user is not None:
        get_store().accounts.end_sessions(user["id"])
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required()
def password():
    """A user changes their own password (the current one is asked for); their other sessions end."""
    if request.method == "GET":
        return render_template("password.html", errors=[])
    user = current_user()
    errors = []
    if not verify_password(request.form.get("current", ""), user["password_hash"]):
        errors.append(_("当前密码不正确。"))
    new = request.form.get("new", "")
    if new != request.form.get("again", ""):
        errors.append(_("两次输入的新密码不一致。"))
    hashed, error = hashed_or_error(new)
    errors += [error] if error else []
    if errors:
        return render_template("password.html", errors=errors), 400
    token = get_store().accounts.set_password(user["id"], hashed)
    start_session({**user, "password_hash": hashed, "session_token": token})
    log.info("%s changed their password", user["username"])
    flash(_("密码已修改；其他设备上的登录已退出。"))
    return redirect(url_for("auth.password"))
