"""The one module that speaks SQL: what ingestion writes and what reports read."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlite_utils import Database

from shared.contract import Event, Status, default_title


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: effective time `at` (ms) and whether it was re-timed."""
    event: Event
    device: str
    at: int
    received_at: int
    retimed: bool
    payload: str


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

    def count_reject(self, device: str | None) -> None:
        if device:
            self.db.execute("UPDATE devices SET rejected = rejected + 1 WHERE device = ?", (device,))

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
    def insert_event(self, item: StoredEvent) -> str:
        """Store once by id. Returns 'stored', 'duplicate' or the id that already holds this seq."""
        e = item.event
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO events (id, device, stream, seq, type, window, staff, ts, at, received_at, "
            "retimed, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.id, item.device, e.stream, e.seq, e.type, e.window, e.staff, e.ts, item.at, item.received_at,
             int(item.retimed), item.payload))
        if cursor.rowcount == 0:
            if self.db.execute("SELECT 1 FROM events WHERE id = ?", (e.id,)).fetchone():
                return "duplicate"
            return self.db.execute("SELECT id FROM events WHERE stream = ? AND seq = ?",
                                   (e.stream, e.seq)).fetchone()[0]
        if e.type == "rating":
            self.db.execute(
                "INSERT INTO ratings (event_id, window, staff, at, score, scale, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (e.id, e.window, e.staff, item.at, e.score, e.scale,
                 json.dumps(list(e.reasons)) if e.reasons else None))
        elif e.type == "feedback":
            self.db.execute(
                "INSERT INTO feedback (event_id, window, staff, at, text, rating_id) VALUES (?, ?, ?, ?, ?, ?)",
                (e.id, e.window, e.staff, item.at, e.text, e.rating))
        return "stored"

    def record_reject(self, now: int, device: str | None, topic: str, reason: str,
                      stream: str | None, seq: int | None, payload: bytes) -> None:
        self.db.execute(
            "INSERT INTO rejects (received_at, device, topic, reason, stream, seq, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now, device, topic[:256], reason, stream, seq, payload[:4096]))
        self.count_reject(device)

    # ------------------------------------------------------------ streams
    def stream(self, stream: str, device: str) -> dict:
        self.db.execute("INSERT OR IGNORE INTO streams (stream, device) VALUES (?, ?)", (stream, device))
        row = self.db.execute("SELECT stream, device, upto_seq, max_seq, gap_since FROM streams WHERE stream = ?",
                              (stream,)).fetchone()
        return dict(zip(("stream", "device", "upto_seq", "max_seq", "gap_since"), row))

    def mark_handled(self, stream: str, seq: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO stream_ahead (stream, seq) VALUES (?, ?)", (stream, seq))

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

    def events_between(self, stream: str, after: int, upto: int) -> list[tuple]:
        """(id, seq, type, window, staff, at, payload) of a stream's stored events in seq order."""
        return self.db.execute(
            "SELECT id, seq, type, window, staff, at, payload FROM events "
            "WHERE stream = ? AND seq > ? AND seq <= ? ORDER BY seq", (stream, after, upto)).fetchall()

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

    def window(self, window: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM windows WHERE window = ?", [window])), None)

    def rating_counts(self, window: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """(scale, score, count) of a window's ratings with start <= at < end."""
        return self.db.execute(
            "SELECT scale, score, count(*) FROM ratings WHERE window = ? AND at >= ? AND at < ? "
            "GROUP BY scale, score", (window, start, end)).fetchall()

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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
