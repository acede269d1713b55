"""The one module that speaks SQL: what ingestion writes and what reports read."""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlite_utils import Database

from shared.contract import Event, Status, default_title


class StoredEvent(NamedTuple):
    """An event as stored: effective time `at` (ms) and whether it was re-timed."""
    event: Event
    device: str
    at: int
    received_at: int
    retimed: bool
    payload: str


@dataclass(frozen=True)
class Reject:
    """A message the server refused, as kept for a manager: who sent it, why, and what it was."""
    now: int
    device: str | None
    topic: str
    reason: str
    stream: str | None
    seq: int | None
    payload: bytes


class Store:
    def __init__(self, db: Database):
        self.db = db

    # ------------------------------------------------------------ devices and windows
    def seen_device(self, device: str, now: int) -> None:
        self.db.execute(
            "INSERT INTO devices (device, first_seen, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen", (device, now, now))

    def device_confirmed(self, device: str) -> bool:
        row = self.db.execute("SELECT confirmed FROM devices WHERE device = ?", (device,)).fetchone()
        return bool(row and row[0])

    def register_device(self, device: str, window: str | None, now: int) -> None:
        self.db.execute(
            "INSERT INTO devices (device, window, confirmed, first_seen, last_seen) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET confirmed = 1, window = coalesce(excluded.window, window)",
            (device, window, now, now))
        if window:
            self.ensure_window(window, device)

    def update_status(self, device: str, status: Status) -> None:
        self.db.execute(
            "UPDATE devices SET online = ?, window = coalesce(?, window), presence = coalesce(?, presence), "
            "outbox = coalesce(?, outbox), version = coalesce(?, version), sensor = coalesce(?, sensor) "
            "WHERE device = ?",
            (int(status.online), status.window, status.presence, status.outbox, status.version, status.sensor,
             device))
        if status.window:
            self.ensure_window(status.window, device)

    def ensure_window(self, window: str, device: str) -> None:
        self.db.execute(
            "INSERT INTO windows (window, title, device) VALUES (?, ?, ?) "
            "ON CONFLICT (window) DO UPDATE SET device = excluded.device", (window, default_title(window), device))

    # ------------------------------------------------------------ events
    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these event ids are stored already."""
        found: set[str] = set()
        for chunk in _chunks(list(ids)):
            found.update(r[0] for r in self.db.execute(
                f"SELECT id FROM events WHERE id IN ({_marks(len(chunk))})", chunk).fetchall())
        return found

    def taken_seqs(self, stream: str, seqs: Iterable[int]) -> dict[int, str]:
        """seq -> the id of the stored event that holds it, for those of a stream's seqs that are taken."""
        top = self.db.execute("SELECT max(seq) FROM events WHERE stream = ?", (stream,)).fetchone()[0]
        if top is None:
            return {}
        taken: dict[int, str] = {}
        for chunk in _chunks([seq for seq in seqs if seq <= top]):  # usually none: new events come after the last
            taken.update(self.db.execute(
                f"SELECT seq, id FROM events WHERE stream = ? AND seq IN ({_marks(len(chunk))})",
                [stream, *chunk]).fetchall())
        return taken

    def insert_events(self, items: Sequence[StoredEvent]) -> None:
        """Store new events (ids and seqs the caller checked are free: a clash raises IntegrityError)."""
        if not items:
            return
        self._executemany(
            "INSERT INTO events (id, device, stream, seq, type, window, staff, ts, at, received_at, "
            "retimed, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.id, item.device, e.stream, e.seq, e.type, e.window, e.staff, e.ts, item.at, item.received_at,
              int(item.retimed), item.payload) for item in items for e in (item.event,)])
        ratings = [item for item in items if item.event.type == "rating"]
        if ratings:
            self._executemany(
                "INSERT INTO ratings (event_id, window, staff, at, score, scale, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.id, e.window, e.staff, item.at, e.score, e.scale,
                  json.dumps(list(e.reasons)) if e.reasons else None) for item in ratings for e in (item.event,)])
        feedback = [item for item in items if item.event.type == "feedback"]
        if feedback:
            self._executemany(
                "INSERT INTO feedback (event_id, window, staff, at, text, rating_id) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.id, e.window, e.staff, item.at, e.text, e.rating) for item in feedback for e in (item.event,)])

    def record_reject(self, now: int, device: str | None, topic: str, reason: str,
                      stream: str | None, seq: int | None, payload: bytes) -> None:
        self.record_rejects([Reject(now, device, topic, reason, stream, seq, payload)])

    def record_rejects(self, rejects: Sequence[Reject]) -> None:
        """Keep each rejected message, in order, and count them per device."""
        if not rejects:
            return
        self._executemany(
            "INSERT INTO rejects (received_at, device, topic, reason, stream, seq, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.now, r.device, r.topic[:256], r.reason, r.stream, r.seq, r.payload[:4096]) for r in rejects])
        per_device: dict[str, int] = {}
        for r in rejects:
            if r.device:
                per_device[r.device] = per_device.get(r.device, 0) + 1
        self._executemany("UPDATE devices SET rejected = rejected + ? WHERE device = ?",
                          [(count, device) for device, count in per_device.items()])

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

    # ------------------------------------------------------------ streams
    def stream(self, stream: str, device: str) -> dict:
        self.db.execute("INSERT OR IGNORE INTO streams (stream, device) VALUES (?, ?)", (stream, device))
        row = self.db.execute("SELECT stream, device, upto_seq, max_seq, gap_since FROM streams WHERE stream = ?",
                              (stream,)).fetchone()
        return dict(zip(("stream", "device", "upto_seq", "max_seq", "gap_since"), row))

    def mark_handled(self, stream: str, seq: int) -> None:
        self.mark_all_handled([(stream, seq)])

    def mark_all_handled(self, pairs: Iterable[tuple[str, int]]) -> None:
        """(stream, seq) pairs handled beyond the contiguous mark, until `advance` passes them."""
        rows = list(pairs)
        if rows:
            self._executemany("INSERT OR IGNORE INTO stream_ahead (stream, seq) VALUES (?, ?)", rows)

    def ahead(self, stream: str) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT seq FROM stream_ahead WHERE stream = ? ORDER BY seq", (stream,)).fetchall()]

    def advance(self, stream: str, upto: int, gap_since: int | None, max_seq: int) -> None:
        self.db.execute("DELETE FROM stream_ahead WHERE stream = ? AND seq <= ?", (stream, upto))
        self.db.execute("UPDATE streams SET upto_seq = ?, gap_since = ?, max_seq = max(max_seq, ?) WHERE stream = ?",
                        (upto, gap_since, max_seq, stream))

    def declare_gap(self, stream: str, device: str, from_seq: int, to_seq: int, now: int) -> None:
        self.db.execute("INSERT INTO gaps (stream, device, from_seq, to_seq, declared_at) VALUES (?, ?, ?, ?, ?)",
                        (stream, device, from_seq, to_seq, now))

    def presences_between(self, stream: str, after: int, upto: int) -> list[tuple]:
        """(id, window, staff, at, payload) of a stream's stored presence events in seq order."""
        return self.db.execute(
            "SELECT id, window, staff, at, payload FROM events "
            "WHERE stream = ? AND seq > ? AND seq <= ? AND type = 'presence' ORDER BY seq",
            (stream, after, upto)).fetchall()

    def staff_between(self, stream: str, after: int, upto: int) -> list[tuple[str, str | None]]:
        """(window, staff) of the last of a stream's stored events per window, by seq."""
        # With max() the only aggregate, SQLite takes the bare column `staff` from the row max() picks.
        return [(window, staff) for window, staff, _ in self.db.execute(
            "SELECT window, staff, max(seq) FROM events WHERE stream = ? AND seq > ? AND seq <= ? GROUP BY window",
            (stream, after, upto)).fetchall()]

    # ------------------------------------------------------------ presence, in seq order
    def window_presence(self, window: str) -> tuple[str, int | None]:
        row = self.db.execute("SELECT presence, open_absence FROM windows WHERE window = ?", (window,)).fetchone()
        return (row[0], row[1]) if row else ("present", None)

    def set_staff(self, window: str, staff: str | None) -> None:
        self.db.execute("UPDATE windows SET staff = ? WHERE window = ?", (staff, window))

    def open_absence(self, window: str, staff: str | None, at: int, event_id: str) -> None:
        absence = self.db.execute(
            "INSERT INTO absences (window, staff, start_at, start_event) VALUES (?, ?, ?, ?)",
            (window, staff, at, event_id)).lastrowid
        self.db.execute("UPDATE windows SET presence = 'away', open_absence = ? WHERE window = ?", (absence, window))

    def close_absence(self, window: str, absence: int | None, at: int, event_id: str) -> None:
        if absence is not None:
            self.db.execute("UPDATE absences SET end_at = max(start_at, ?), end_event = ? WHERE id = ?",
                            (at, event_id, absence))
        self.db.execute("UPDATE windows SET presence = 'present', open_absence = NULL WHERE window = ?", (window,))

    # ------------------------------------------------------------ reads for reports and the API
    def windows(self) -> list[dict]:
        return list(self.db.query(
            "SELECT w.window, w.title, w.device, coalesce(d.online, 0) AS online, w.presence, w.staff "
            "FROM windows w LEFT JOIN devices d ON d.device = w.device ORDER BY w.window"))

    def away_since(self) -> dict[str, int]:
        """When each window's open absence began (ms), for the windows that are away now."""
        return dict(self.db.execute(
            "SELECT w.window, a.start_at FROM windows w JOIN absences a ON a.id = w.open_absence").fetchall())

    def comments(self, start: int, end: int, text: str = "", window: str = "", staff: str = "",
                 score: int | None = None, limit: int = 500) -> list[dict]:
        """Comments with start <= at < end, newest first, with the score of the rating each belongs to."""
        sql = ("SELECT f.at, f.window, w.title, f.staff, f.text, r.score, r.scale FROM feedback f "
               "LEFT JOIN windows w ON w.window = f.window LEFT JOIN ratings r ON r.event_id = f.rating_id "
               "WHERE f.at >= ? AND f.at < ?")
        params: list = [start, end]
        if text:
            sql += " AND f.text LIKE ? ESCAPE '\\'"
            params.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        for column, value in (("f.window", window), ("f.staff", staff)):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
        if score is not None:
            sql += " AND r.score = ?"
            params.append(score)
        sql += " ORDER BY f.at DESC LIMIT ?"
        params.append(limit)
        return list(self.db.query(sql, params))

    def fleet(self) -> list[dict]:
        """Every device with its state, backlog and trouble: rejects, and streams with a gap now or declared lost."""
        return list(self.db.query(
            "SELECT d.device, d.window, d.confirmed, d.online, d.presence, d.outbox, d.version, d.sensor, "
            "d.first_seen, d.last_seen, d.rejected, "
            "(SELECT count(*) FROM streams s WHERE s.device = d.device AND s.gap_since IS NOT NULL) AS open_gaps, "
            "(SELECT coalesce(sum(g.to_seq - g.from_seq + 1), 0) FROM gaps g WHERE g.device = d.device) AS lost "
            "FROM devices d ORDER BY d.device"))

    def recent_rejects(self, limit: int = 50) -> list[dict]:
        return list(self.db.query(
            "SELECT received_at, device, topic, reason, stream, seq FROM rejects ORDER BY id DESC LIMIT ?", [limit]))

    def window(self, window: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM windows WHERE window = ?", [window])), None)

    def rating_counts(self, window: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """(scale, score, count) of a window's ratings with start <= at < end."""
        return self.db.execute(
            "SELECT scale, score, count(*) FROM ratings WHERE window = ? AND at >= ? AND at < ? "
            "GROUP BY scale, score", (window, start, end)).fetchall()

    def rating_counts_by_quarter_hour(self, window: str, start: int, end: int) -> list[tuple[int, int, int, int]]:
        """(quarter-hour since the epoch, scale, score, count): fine enough to put into local days and
        hours of any time zone in Python."""
        return self.db.execute(
            "SELECT at / 900000, scale, score, count(*) FROM ratings WHERE window = ? AND at >= ? AND at < ? "
            "GROUP BY at / 900000, scale, score", (window, start, end)).fetchall()

    def reason_counts(self, window: str, start: int, end: int) -> list[tuple[str, int]]:
        """(reason code, how many ratings gave it), most given first."""
        return self.db.execute(
            "SELECT j.value, count(*) FROM ratings r, json_each(r.reasons) j "
            "WHERE r.window = ? AND r.at >= ? AND r.at < ? AND r.reasons IS NOT NULL "
            "GROUP BY j.value ORDER BY count(*) DESC, j.value", (window, start, end)).fetchall()

    def absence_list(self, window: str, start: int, end: int) -> list[dict]:
        return list(self.db.query(
            "SELECT start_at, end_at, staff FROM absences WHERE window = ? AND start_at >= ? AND start_at < ? "
            "ORDER BY start_at", [window, start, end]))

    def absences(self, window: str, start: int, end: int) -> list[tuple[int, int | None]]:
        """(start_at, end_at) of the absences that began in [start, end)."""
        return self.db.execute(
            "SELECT start_at, end_at FROM absences WHERE window = ? AND start_at >= ? AND start_at < ? "
            "ORDER BY start_at", (window, start, end)).fetchall()

    def feedback_count(self, window: str, start: int, end: int) -> int:
        return self.db.execute("SELECT count(*) FROM feedback WHERE window = ? AND at >= ? AND at < ?",
                               (window, start, end)).fetchone()[0]

    # ------------------------------------------------------------ API tokens
    def create_token(self, name: str, now: int) -> str:
        token = secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO tokens (name, token_hash, created_at) VALUES (?, ?, ?)",
                        (name, _hash(token), now))
        return token

    def token_name(self, token: str) -> str | None:
        row = self.db.execute("SELECT name FROM tokens WHERE token_hash = ?", (_hash(token),)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------ web app accounts
    def create_user(self, username: str, password_hash: str, role: str, sites: list[str] | None, now: int) -> int:
        return self.db.execute(
            "INSERT INTO users (username, password_hash, role, sites, created_at) VALUES (?, ?, ?, ?, ?)",
            (username, password_hash, role, json.dumps(sites) if sites is not None else None, now)).lastrowid

    def users(self) -> list[dict]:
        return list(self.db.query("SELECT id, username, role, sites, disabled FROM users ORDER BY username"))

    def user_by_name(self, username: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM users WHERE username = ?", [username])), None)

    def user_by_id(self, uid: int) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM users WHERE id = ?", [uid])), None)

    def record_login_failure(self, key: str, now: int) -> None:
        self.db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, now))

    def login_failures(self, key: str, since: int) -> int:
        return self.db.execute("SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?",
                               (key, since)).fetchone()[0]

    def clear_login_failures(self, key: str) -> None:
        self.db.execute("DELETE FROM login_failures WHERE key = ?", (key,))


CHUNK = 500  # values per IN (...) list, far below SQLite's limit on bound parameters


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
