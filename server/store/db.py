"""Opening the server database: WAL, full sync, migrations applied.

A `sqlite_utils.Database` wraps one connection and a connection must not cross
threads, so every thread (the collector, each web request) opens its own.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from server.store.migrations import migrations


def _as_is(value):
    return value


# Python's sqlite3 binds an int, float, str or bytearray at once, but looks every other parameter up among the
# registered adapters, and for None and bytes (NULLs, digests) finds none only after raising and clearing an
# AttributeError. With about seven such parameters an event, that was 4 % of the store process's instructions
# (counted with valgrind); an adapter that hands the value back as it is answers the lookup at once, and the same
# NULL or BLOB is bound.
sqlite3.register_adapter(type(None), _as_is)
sqlite3.register_adapter(bytes, _as_is)


def open_db(path: str | Path, migrate: bool = True) -> sqlite_utils.Database:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    # FULL: an acknowledged event must survive power loss, or the kiosk deletes the only copy.
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    if migrate:
        migrations.apply(db)
    return db
