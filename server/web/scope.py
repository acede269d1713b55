"""Which sites a logged-in user may see: admins and users without a site list see every site;
others only the windows of their own sites (a window in no site is for the former only)."""
from __future__ import annotations

import json

from flask import abort
from flask_babel import gettext as _

from server.web.auth import current_user
from server.web.context import get_store


def visible_sites() -> list[str] | None:
    """The user's sites, or None for all of them."""
    user = current_user()
    if user is None or user["role"] == "admin" or not user["sites"]:
        return None
    return list(json.loads(user["sites"]))


def visible_windows() -> list[dict]:
    return get_store().windows(visible_sites())


def require_window(window: str) -> dict:
    """The window's row, or 404 when it does not exist or belongs to a site the user may not see."""
    row = get_store().window(window)
    sites = visible_sites()
    if row is None or (sites is not None and row["site"] not in sites):
        abort(404, _("窗口 %(window)s 不存在", window=window))
    return row
