"""Log-in, sessions, roles and CSRF for the managers' web app.

Roles: `viewer` reads, `manager` also follows up and runs reports for their
sites, `admin` does everything. Sessions are Flask's signed cookies (HttpOnly,
SameSite=Lax, Secure when `TLS` is set); every form carries a CSRF token;
repeated failed log-ins for a user name or from an address answer 429.
"""
from __future__ import annotations

import functools
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .passwords import verify_password
from .web_db import get_store, now_ms

bp = Blueprint("auth", __name__)

ROLES = {"viewer": 0, "manager": 1, "admin": 2}
FAILURE_WINDOW_MS = 15 * 60 * 1000
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def current_user() -> dict | None:
    if "user" not in g:
        uid = session.get("uid")
        user = get_store().user_by_id(uid) if uid is not None else None
        g.user = user if user and not user["disabled"] else None
    return g.user


def login_required(role: str = "viewer"):
    """Anonymous: to the log-in page. Logged in with too small a role: 403."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if ROLES[user["role"]] < ROLES[role]:
                abort(403)
            return view(*args, **kwargs)
        wrapped.required_role = role  # for the route audit in the tests
        return wrapped
    return decorate


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    """Every unsafe request of the web app carries the session's token (the JSON API has bearer tokens instead)."""
    if request.method not in UNSAFE_METHODS or request.blueprint == "api":
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, _("表单的安全令牌缺失或已过期：请刷新页面后重试。"))


def safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.board")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        store = get_store()
        username = request.form.get("username", "").strip()
        keys = (f"login-user:{username.lower()}", f"login-address:{request.remote_addr}")
        since = now_ms() - FAILURE_WINDOW_MS
        if (store.attempts(keys[0], since) >= MAX_FAILURES_PER_USER
                or store.attempts(keys[1], since) >= MAX_FAILURES_PER_ADDRESS):
            return render_template("login.html", error=_("尝试次数过多，请 15 分钟后再试。"), username=username), 429
        user = store.user_by_name(username)
        if user and not user["disabled"] and verify_password(request.form.get("password", ""), user["password_hash"]):
            store.clear_attempts(keys[0])
            session.clear()
            session.permanent = True
            session["uid"] = user["id"]
            return redirect(safe_next(request.args.get("next")))
        for key in keys:
            store.record_attempt(key, now_ms())
        current_app.logger.warning("failed log-in for %r from %s", username, request.remote_addr)
        error = _("用户名或密码不正确。")
        return render_template("login.html", error=error, username=username), 401
    return render_template("login.html", error=error, username="")


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
