"""What a web request needs from the app: its own store, the clock, the time zone."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app, g

from server.store import Store
from server.store.db import open_db
from shared.timefmt import local_text, to_ms


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


def hall_time(ms: int | None, precision: str = "second", none: str = "") -> str:
    """An epoch-ms moment as the hall reads it (shared.timefmt.local_text in the server's zone): what every page
    shows of a time, and the `hall_time` template filter (`{{ t|hall_time("minute") }}`)."""
    return local_text(ms, server_tz(), precision, none)


def hall_clock() -> str:
    """The time now as the hall reads it: its zone, 24-hour, `14:05:09` (the boards' "updated" clock)."""
    return hall_time(now_ms(), "clock")
