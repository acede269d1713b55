"""The admin's pages: accounts of the web app."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .auth import ROLES, current_user, login_required
from .passwords import hash_password
from .web_db import get_store, now_ms

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("")
@login_required("admin")
def index():
    """The admin's settings, one page of links."""
    return render_template("admin_index.html")


@bp.get("/users")
@login_required("admin")
def users():
    return render_template("admin_users.html", users=get_store().users(), roles=list(ROLES), me=current_user())


@bp.post("/users")
@login_required("admin")
def add_user():
    store = get_store()
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    errors = []
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        errors.append(_("用户名不能为空，不能含空格，最长 64 个字符。"))
    elif store.user_by_name(username):
        errors.append(_("用户 %(name)s 已存在。", name=username))
    if role not in ROLES:
        errors.append(_("请选择角色。"))
    try:
        hashed = hash_password(request.form.get("password", ""))
    except ValueError:
        errors.append(_("密码至少 8 个字符。"))
    if errors:
        return render_template("admin_users.html", users=store.users(), roles=list(ROLES), me=current_user(),
                               errors=errors, form=request.form), 400
    sites = [s.strip() for s in request.form.get("sites", "").split(",") if s.strip()] or None
    store.create_user(username, hashed, role, sites, now_ms())
    flash(_("已添加用户 %(name)s。", name=username))
    return redirect(url_for("admin.users"))
