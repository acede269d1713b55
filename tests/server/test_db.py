"""The server's database connection (server/store/db.py)."""
from __future__ import annotations

from server.store.db import open_db


def test_none_and_bytes_are_still_bound_as_null_and_blob_with_the_adapters_it_registers(tmp_path):
    db = open_db(tmp_path / "server.sqlite3", migrate=False)
    db.execute("CREATE TABLE t (a, b)")
    db.conn.execute("INSERT INTO t VALUES (?, ?)", (None, b"\x00\xff"))
    db.conn.executemany("INSERT INTO t VALUES (?, ?)", [(b"", None)])
    assert db.execute("SELECT a, typeof(a), b, typeof(b) FROM t ORDER BY rowid").fetchall() == [
        (None, "null", b"\x00\xff", "blob"), (b"", "blob", None, "null")]
