"""What ingestion writes and reads: devices, events, streams, presence."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from shared.contract import Event, Status, default_title

from .base import StoreBase, chunks, marks


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


class IngestQueries(StoreBase):
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
        """A kiosk's report of itself. The window it names fills a blank; it never undoes an assignment
        made in the registry (a confirmed device with a window)."""
        self.db.execute(
            "UPDATE devices SET online = ?, "
            "window = CASE WHEN confirmed = 1 AND window IS NOT NULL THEN window ELSE coalesce(?, window) END, "
            "presence = coalesce(?, presence), outbox = coalesce(?, outbox), version = coalesce(?, version), "
            "sensor = coalesce(?, sensor) WHERE device = ?",
            (int(status.online), status.window, status.presence, status.outbox, status.version, status.sensor,
             device))
        if status.window:
            self.ensure_window(status.window, device)

    def ensure_window(self, window: str, device: str, at: int | None = None) -> None:
        """The window exists, and is this device's unless the registry put the device at another window or
        another confirmed device at this one. `at`: the time of an event from it; `first_at` keeps the
        earliest, from when on the window's presence is known."""
        self.db.execute(
            "INSERT INTO windows (window, title, device, first_at) VALUES (?, ?, CASE WHEN EXISTS (SELECT 1 "
            "FROM devices WHERE device = ? AND confirmed = 1 AND window IS NOT NULL AND window != ?) THEN NULL "
            "ELSE ? END, ?) "
            "ON CONFLICT (window) DO UPDATE SET device = CASE WHEN excluded.device IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.device = windows.device AND d.confirmed = 1 "
            "AND d.window = windows.window AND d.device != excluded.device) THEN excluded.device ELSE device END, "
            "first_at = min(coalesce(first_at, excluded.first_at), coalesce(excluded.first_at, first_at))",
            (window, default_title(window), device, window, device, at))

    # ------------------------------------------------------------ events
    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these event ids are stored already."""
        found: set[str] = set()
        for chunk in chunks(list(ids)):
            found.update(r[0] for r in self.db.execute(
                f"SELECT id FROM events WHERE id IN ({marks(len(chunk))})", chunk).fetchall())
        return found

    def taken_seqs(self, stream: str, seqs: Iterable[int]) -> dict[int, str]:
        """seq -> the id of the stored event that holds it, for those of a stream's seqs that are taken."""
        top = self.db.execute("SELECT max(seq) FROM events WHERE stream = ?", (stream,)).fetchone()[0]
        if top is None:
            return {}
        taken: dict[int, str] = {}
        for chunk in chunks([seq for seq in seqs if seq <= top]):  # usually none: new events come after the last
            taken.update(self.db.execute(
                f"SELECT seq, id FROM events WHERE stream = ? AND seq IN ({marks(len(chunk))})",
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
                "INSERT INTO ratings (event_id, window, staff, at, score, scale, reasons, case_no) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.id, e.window, e.staff, item.at, e.score, e.scale,
                  json.dumps(list(e.reasons)) if e.reasons else None, e.case) for item in ratings for e in (item.event,)])
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
