"""The durable outbox: every event is committed here before the customer is thanked.

One SQLite file per kiosk, `synchronous=FULL`, so a committed event survives
power loss (an ack's delete is not flushed: see `ack`). The file also holds the
stream id, the last `seq` and the last link of the stream's chain; a wiped or
replaced file starts a new stream and a new chain (its first event names the
stream's genesis as `prev`). With the kiosk's key each event is signed as it
is committed, so what goes out again after a restart is byte for byte what went
out before (shared/signing.py). Rows leave only when an ack covers them, and
never for an ack beyond the last `seq` (a forged one: see `ack`).

When an event cannot be written (a full disk, a failing card) `append` raises
`NotStored` with the real cause and leaves the file as it was; the next append
tries again, so the kiosk recovers by itself once there is room.
"""
from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shared.contract import Event
from shared.signing import digest, genesis, link

from .core import NotStored
from .ids import new_event_id, new_stream_id

if TYPE_CHECKING:
    from .signing_key import SigningKey

log = logging.getLogger(__name__)


def _not_stored(exc: Exception) -> NotStored:
    """The write failure as the kiosk reports it: a full disk (SQLITE_FULL, ENOSPC) or another fault."""
    full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or getattr(exc, "errno", None) == errno.ENOSPC
    return NotStored(f"{type(exc).__name__}: {exc}", full=full)


class AckBeyond(ValueError):
    """An ack of our stream up to a seq we never gave out."""

    def __init__(self, upto_seq: int, last_seq: int):
        super().__init__(f"ack up to seq {upto_seq}, but the last seq is {last_seq}")
        self.upto_seq = upto_seq
        self.last_seq = last_seq


class Outbox:
    def __init__(self, path: str | Path, key: SigningKey | None = None):
        self.path = Path(path)
        self.key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('stream', ?), ('last_seq', '0')", (new_stream_id(),)
            )
            # an outbox from before chains starts its chain at its next event
            stream = self._meta("stream")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('last_link', ?)", (genesis(stream),))
            self._db.execute("COMMIT")
        self.stream = stream

    def _meta(self, key: str) -> str:
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return int(self._meta("last_seq"))

    def append(self, **fields) -> Event:
        """Give the event its id, stream, seq and place in the chain, sign it, and commit it durably."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                seq = int(self._meta("last_seq")) + 1
                prev = self._meta("last_link")
                event = Event(id=fields.pop("id", None) or new_event_id(), stream=self.stream, seq=seq, prev=prev,
                              **fields)
                content = event.to_dict()
                if self.key is not None:
                    event = replace(event, sig=self.key.sign(content))
                self._db.execute("INSERT INTO outbox (seq, payload) VALUES (?, ?)", (seq, event.to_json()))
                self._db.executemany("UPDATE meta SET value = ? WHERE key = ?",
                                     [(str(seq), "last_seq"), (link(prev, digest(content)), "last_link")])
                self._db.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                self._rollback()
                raise _not_stored(exc) from exc
            except BaseException:
                self._rollback()
                raise
        log.debug("outbox: stored %s seq %d", event.type, seq)
        return event

    def _rollback(self) -> None:
        """Undo a failed append. SQLite may have rolled back already (SQLITE_FULL does): then there is
        nothing to undo, and a ROLLBACK would only hide the real cause under "no transaction is active"."""
        if not self._db.in_transaction:
            return
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("outbox: rollback after a failed write failed too: %s", exc)

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[tuple[int, bytes]]:
        """Unacknowledged events with seq > after_seq, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            ).fetchall()

    def ack(self, stream: str, upto_seq: int) -> int:
        """Delete what the ack covers; return how many rows went.

        An ack for another stream deletes nothing. Nor does one beyond our last seq: the server acks
        only what it received, so it is forged or confused, and it would delete events never sent
        (raises `AckBeyond`). A failed delete raises `NotStored`; the rows stay and go again.
        """
        if stream != self.stream:
            log.warning("outbox: ack for stream %s, ours is %s; ignored", stream, self.stream)
            return 0
        with self._lock:
            last_seq = int(self._meta("last_seq"))
            if upto_seq > last_seq:
                raise AckBeyond(upto_seq, last_seq)
            # A delete need not reach the card before the kiosk goes on: should the power fail first, the rows
            # come back and go again, and the server knows each copy by its id. So it is not flushed (the next
            # append's flush takes it along); only appends wait for the card (synchronous=FULL).
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                return self._db.execute("DELETE FROM outbox WHERE seq <= ?", (upto_seq,)).rowcount
            except (sqlite3.Error, OSError) as exc:
                self._rollback()
                raise _not_stored(exc) from exc
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
