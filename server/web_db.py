"""What a web request needs from the app: its own store, the clock, the time zone."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app, g

from shared.timefmt import to_ms

from .db import open_db
from .store import Store


def get_store() -> Store:
    if "store" not in g:
        g.store = Store(open_db(current_app.config["DATABASE"], migrate=False))
    return g.store


def close_store(exc=None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.db.close()


def server_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def now_ms() -> int:
    return to_ms(current_app.config["CLOCK"].now())


def local_today() -> date:
    return current_app.config["CLOCK"].now().astimezone(server_tz()).date()
