"""What every part of the store shares: the connection, statements inside the caller's transaction."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from sqlite_utils import Database


class StoreBase:
    def __init__(self, db: Database):
        self.db = db

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A write transaction that takes the write lock first (BEGIN IMMEDIATE), waiting for it up to the busy
        timeout: a transaction that reads and then writes would otherwise fail at once with "database is locked"
        when another connection (the collector) committed in between. Inside the caller's transaction: a
        savepoint of it."""
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield
            return
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise
        try:
            self.db.conn.execute("COMMIT")
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise

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


def in_sites(sites: list[str | None] | None, column: str, *also: str) -> tuple[str, list]:
    """` WHERE column IN (...)` and its parameters for a listing of `sites` (None in it: in no site; None for
    `sites`: every site), and every condition of `also`; nothing when there is nothing to ask."""
    conditions, named = list(also), []
    if sites is not None:
        named = [s for s in sites if s is not None]
        parts = [f"{column} IN ({marks(len(named))})"] if named else []
        if None in sites:
            parts.append(f"{column} IS NULL")
        conditions.insert(0, "(" + (" OR ".join(parts) or "0") + ")")
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), named


def flag(column: str, value: bool | None) -> list[str]:
    """The condition that `column` is `value` (true or false), or none for None: for `in_sites(..., *also)`."""
    return [] if value is None else [column if value else f"NOT {column}"]


def paged(sql: str, params: list, limit: int | None, offset: int) -> tuple[str, list]:
    """`sql` with `limit` rows from `offset` on when `limit` is given."""
    return (sql + " LIMIT ? OFFSET ?", [*params, limit, offset]) if limit is not None else (sql, params)
