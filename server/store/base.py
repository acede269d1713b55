"""What every part of the store shares: the connection, statements inside the caller's transaction."""
from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database


class StoreBase:
    def __init__(self, db: Database):
        self.db = db

    def _executemany(self, sql: str, rows: list[tuple]) -> None:
        """`executemany` inside the caller's transaction; on its own it commits, as `Database.execute` does."""
        conn = self.db.conn
        was_in_transaction = conn.in_transaction
        try:
            conn.executemany(sql, rows)
        except Exception:
            if not was_in_transaction and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if not was_in_transaction and conn.in_transaction:
            conn.execute("COMMIT")


CHUNK = 500  # values per IN (...) list, far below SQLite's limit on bound parameters


def chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def marks(n: int) -> str:
    return ", ".join("?" * n)
