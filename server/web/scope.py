"""Which sites a logged-in user may see: admins and users without a site list see every site;
others only the windows of their own sites (a window in no site is for the former only)."""
from __future__ import annotations

import json

from flask import abort
from flask_babel import gettext as _

from server.store import Store
from server.web.auth import current_user
from server.web.context import get_store
from shared.contract import STAFF_PATTERN


def visible_sites() -> list[str] | None:
    """The user's sites, or None for all of them."""
    user = current_user()
    if user is None or user["role"] == "admin" or not user["sites"]:
        return None
    return list(json.loads(user["sites"]))


def visible_windows() -> list[dict]:
    return get_store().reports.windows(visible_sites())


def require_window(window: str) -> dict:
    """The window's row, or 404 when it does not exist or belongs to a site the user may not see."""
    row = get_store().reports.window(window)
    sites = visible_sites()
    if row is None or (sites is not None and row["site"] not in sites):
        abort(404, _("窗口 %(window)s 不存在", window=window))
    return row


def known_staff(store: Store, staff: str, sites: list[str] | None, windows: list[str] | None) -> bool:
    """On the roster (of these sites), or seen at these windows; None is every site or window."""
    if not STAFF_PATTERN.match(staff):
        return False
    member = store.reports.staff_member(staff)
    if member is not None and (sites is None or member["site"] in sites):
        return True
    return store.reports.staff_seen(staff, windows)
