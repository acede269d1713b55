"""The admin's pages: accounts of the web app and tokens of the API.

Changing a user's password or disabling them ends their sessions (auth.py); the last active admin cannot be
disabled. A new API token is shown once, on the page that made it: only its hash is kept.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.web.auth import MAX_USERNAME, ROLES, current_user, hashed_or_error, login_required, start_session
from server.web.context import get_store, now_ms

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_TOKEN_NAME = 64


@bp.get("")
@login_required("admin")
def index():
    """The admin's settings, one page of links."""
    return render_template("admin_index.html")


def _users_page(errors=(), form=None, status=200):
    return render_template("admin_users.html", users=get_store().accounts.users(), roles=list(ROLES), me=current_user(),
                           errors=list(errors), form=form), status


@bp.get("/users")
@login_required("admin")
def users():
    return _users_page()


@bp.post("/users")
@login_required("admin")
def add_user():
    store = get_store()
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    errors = []
    if not username or len(username) > MAX_USERNAME or any(c.isspace() for c in username):
        errors.append(_("用户名不能为空，不能含空格，最长 64 个字符。"))
    elif store.accounts.user_by_name(username):
        errors.append(_("用户 %(name)s 已存在。", name=username))
    if role not in ROLES:
        errors.append(_("请选择角色。"))
    hashed, error = hashed_or_error(request.form.get("password", ""))
    errors += [error] if error else []
    if errors:
        return _users_page(errors, request.form, 400)
    sites = [s.strip() for s in request.form.get("sites", "").split(",") if s.strip()] or None
    store.accounts.create_user(username, hashed, role, sites, now_ms())
    log.info("%s added user %s (%s)", current_user()["username"], username, role)
    flash(_("已添加用户 %(name)s。", name=username))
    return redirect(url_for("admin.users"))


def _user_or_404(uid: int) -> dict:
    user = get_store().accounts.user_by_id(uid)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:uid>/password")
@login_required("admin")
def set_password(uid: int):
    user = _user_or_404(uid)
    hashed, error = hashed_or_error(request.form.get("password", ""))
    if error:
        return _users_page([error], status=400)
    token = get_store().accounts.set_password(uid, hashed)
    me = current_user()
    if uid == me["id"]:  # the admin's own: this session goes on, their others end
        start_session({**me, "password_hash": hashed, "session_token": token})
    log.info("%s set the password of %s", me["username"], user["username"])
    flash(_("已修改 %(name)s 的密码；其登录已全部退出。", name=user["username"]))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:uid>/disable")
@login_required("admin")
def disable(uid: int):
    user = _user_or_404(uid)
    me = current_user()["username"]
    if not get_store().accounts.disable_user(uid):
        return _users_page([_("不能停用最后一个可用的管理员。")], status=400)
    log.info("%s disabled user %s", me, user["username"])
    flash(_("已停用用户 %(name)s；其登录已全部退出。", name=user["username"]))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:uid>/enable")
@login_required("admin")
def enable(uid: int):
    user = _user_or_404(uid)
    get_store().accounts.enable_user(uid)
    log.info("%s enabled user %s", current_user()["username"], user["username"])
    flash(_("已启用用户 %(name)s。", name=user["username"]))
    return redirect(url_for("admin.users"))


# ---------------------------------------------------------------- API tokens
def _tokens_page(errors=(), created=None, status=200):
    return render_template("admin_tokens.html", tokens=get_store().accounts.tokens(), errors=list(errors),
                           created=created), status


@bp.get("/tokens")
@login_required("admin")
def tokens():
    return _tokens_page()


@bp.post("/tokens")
@login_required("admin")
def create_token():
    name = " ".join(request.form.get("name", "").split())
    if not 1 <= len(name) <= MAX_TOKEN_NAME:
        return _tokens_page([_("请填写令牌的用途（最长 64 个字符）。")], status=400)
    token = get_store().accounts.create_token(name, now_ms())
    log.info("%s created API token %r", current_user()["username"], name)
    # shown once, on this page: not through a flash message, which would keep it in the session cookie
    return _tokens_page(created={"name": name, "token": token})


@bp.post("/tokens/<int:token_id>/revoke")
@login_required("admin")
def revoke_token(token_id: int):
    store = get_store()
    token = store.accounts.token_by_id(token_id) or abort(404)
    if store.accounts.revoke_token(token_id, now_ms()):
        log.info("%s revoked API token %s (%r)", current_user()["username"], token_id, token["name"])
        flash(_("已吊销令牌 %(name)s。", name=token["name"]))
    return redirect(url_for("admin.tokens"))
