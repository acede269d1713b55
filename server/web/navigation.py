"""What the navigation and the board show of alerts on every page: the count of the user's open ones."""
from __future__ import annotations

import logging
import sqlite3

from flask import Flask

from server.web.auth import current_user
from server.web.context import get_store
from server.web.scope import visible_sites

log = logging.getLogger(__name__)


def open_alerts() -> int | None:
    """Unacknowledged alerts of the user's sites, for the navigation's badge and the board; None for no one
    logged in, or when the database cannot say (an error page must still render)."""
    if current_user() is None:
        return None
    try:
        return get_store().alerts.open_alert_count(visible_sites())
    except sqlite3.Error as exc:
        log.warning("no alert count for the navigation: %s", exc)
        return None


def init_app(app: Flask) -> None:
    """Templates get `open_alerts()`: a function, counted only where a page shows it."""
    app.context_processor(lambda: {"open_alerts": open_alerts})
