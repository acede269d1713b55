"""What ingestion writes and reads: devices, events, streams, presence."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from server.store.base import StoreBase, chunks, marks
from shared.contract import Event, Status, default_title


class StoredEvent(NamedTuple):
    """An event as stored: effective time `at` (ms) and whether it was re-timed."""
    event: Event
    device: str
    at: int
    received_at: int
    retimed: bool
    payload: str
    digest: bytes | None = None  # of a chained event's content (shared/signing.py); its `prev` is the event's


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


# What is kept of rejected messages (devices.rejected counts every one).
REJECTS_KEPT = 200            # the newest, per device
REJECTS_KEPT_UNKNOWN = 1000   # the newest on topics that name no valid device
MAX_REJECT_PAYLOAD = 4096     # bytes: the largest valid event
MAX_REJECT_REASON = 500       # characters
MAX_REJECT_TOPIC = 256        # characters


class IngestQueries(StoreBase):
    # ------------------------------------------------------------ devices and windows
    def seen_device(self, device: str, now: int) -> None:
        self.db.execute(
            "INSERT INTO devices (device, first_seen, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen, heard = 1", (device, now, now))

    def chain_links(self, stream: str, seqs: list[int]) -> dict[int, tuple[str | None, bytes | None, str]]:
        """seq -> (prev as hex, content digest, raw payload) of the stored events of `stream` at `seqs`."""
        if not seqs:
            return {}
        return {seq: (prev.hex() if prev else None, digest, payload) for seq, prev, digest, payload in self.db.execute(
            f"SELECT seq, prev, digest, payload FROM events WHERE stream = ? AND seq IN ({', '.join('?' * len(seqs))})",
            [stream, *seqs])}

    def streams_of(self, device: str) -> int:
        """How many streams the device has used."""
        return self.db.execute("SELECT count(*) FROM streams WHERE device = ?", (device,)).fetchone()[0]

    def device_confirmed(self, device: str) -> bool:
        row = self.db.execute("SELECT confirmed FROM devices WHERE device = ?", (device,)).fetchone()
        return bool(row and row[0])

    def register_device(self, device: str, window: str | None, now: int) -> None:
        """Confirm a device, at `window` when given (else at the window it has). Its assignment history
        (device_windows) gets a new entry from `now` when its window changes. A device registered before it
        connects is not heard from yet (`heard` = 0): its last_seen is its registration."""
        self.db.execute(
            "INSERT INTO devices (device, window, confirmed, first_seen, last_seen, heard) VALUES (?, ?, 1, ?, ?, 0) "
            "ON CONFLICT (device) DO UPDATE SET confirmed = 1, window = coalesce(excluded.window, window)",
            (device, window, now, now))
        window = self.db.execute("SELECT window FROM devices WHERE device = ?", (device,)).fetchone()[0]
        if window:
            self._assign(device, window, now)
            self.ensure_window(window, device)

    # ------------------------------------------------------------ which window a device speaks for, when
    def _assign(self, device: str, window: str, now: int) -> None:
        current = self.db.execute("SELECT window FROM device_windows WHERE device = ? AND until IS NULL",
                                  (device,)).fetchone()
        if current and current[0] == window:
            return
        self.end_assignments([device], now)
        self.db.execute("INSERT INTO device_windows (device, window, since) VALUES (?, ?, ?)", (device, window, now))

    def end_assignments(self, devices: Sequence[str], now: int) -> None:
        """These devices serve no window from `now` on (moved away, or their window given to another)."""
        for chunk in chunks(list(devices)):
            self.db.execute(f"UPDATE device_windows SET until = max(since, ?) WHERE until IS NULL "
                            f"AND device IN ({marks(len(chunk))})", [now, *chunk])

    def assignments(self, device: str) -> list[tuple[str, int, int | None]]:
        """(window, since, until) of every window the device was assigned to, oldest first; until is None
        for the one it serves now. Empty for a device never assigned (its events follow the old rules)."""
        return self.db.execute("SELECT window, since, until FROM device_windows WHERE device = ? ORDER BY since, id",
                               (device,)).fetchall()

    def update_status(self, device: str, status: Status, create_window: bool = True,
                      now: int | None = None) -> str | None:
        """A kiosk's report of itself. The window it names fills a blank of an unconfirmed device (for the
        registry to show); a confirmed device's window is the registry's alone. The window is created only
        when `create_window` (an unconfirmed device, the server not --strict).

        Its health (`now`: the server's time): an online status says whether its outbox stores (no `storage`:
        it does), and `storage_since` keeps when the trouble began; a Last Will keeps what was known. The last
        `ignored_acks` it reported stays until it reports another count or upto_seq (`ignored_ack_at`: when
        the server first saw that one). Returns the `storage` the device had before."""
        before = self.db.execute("SELECT storage FROM devices WHERE device = ?", (device,)).fetchone()
        ignored = status.ignored_acks or {}
        self.db.execute(
            "UPDATE devices SET online = :online, "
            "window = CASE WHEN confirmed = 1 THEN window ELSE coalesce(:window, window) END, "
            "presence = coalesce(:presence, presence), outbox = coalesce(:outbox, outbox), "
            "version = coalesce(:version, version), sensor = coalesce(:sensor, sensor), "
            "storage = CASE WHEN :online THEN :storage ELSE storage END, "
            "storage_since = CASE WHEN NOT :online THEN storage_since WHEN :storage IS NULL THEN NULL "
            "WHEN storage IS NULL THEN :now ELSE storage_since END, "
            "ignored_ack_at = CASE WHEN :count IS NULL THEN ignored_ack_at "
            "WHEN ignored_acks IS :count AND ignored_upto_seq IS :upto THEN ignored_ack_at ELSE :now END, "
            "ignored_acks = coalesce(:count, ignored_acks), ignored_upto_seq = coalesce(:upto, ignored_upto_seq) "
            "WHERE device = :device",
            {"online": int(status.online), "window": status.window, "presence": status.presence,
             "outbox": status.outbox, "version": status.version, "sensor": status.sensor,
             "storage": status.storage, "now": now, "count": ignored.get("count"), "upto": ignored.get("upto_seq"),
             "device": device})
        if status.window and create_window:
            self.ensure_window(status.window, device)
        return before[0] if before else None

    def note_window_event(self, window: str, at: int) -> None:
        """An event of a window that exists (a confirmed kiosk's own): `first_at` keeps the earliest."""
        self.db.execute("UPDATE windows SET first_at = min(coalesce(first_at, ?), ?) WHERE window = ?",
                        (at, at, window))

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
            "retimed, payload, prev, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.id, item.device, e.stream, e.seq, e.type, e.window, e.staff, e.ts, item.at, item.received_at,
              int(item.retimed), item.payload, bytes.fromhex(e.prev) if e.prev else None, item.digest)
             for item in items for e in (item.event,)])
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
        """Keep each rejected message, in order, and count them per device: the count stays exact while only
        the newest REJECTS_KEPT of each device (REJECTS_KEPT_UNKNOWN of no device) are kept, topic, reason
        and payload cut short, so a flood of bad messages cannot fill the disk."""
        if not rejects:
            return
        self._executemany(
            "INSERT INTO rejects (received_at, device, topic, reason, stream, seq, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.now, r.device, r.topic[:MAX_REJECT_TOPIC], r.reason[:MAX_REJECT_REASON], r.stream, r.seq,
              bytes(r.payload[:MAX_REJECT_PAYLOAD])) for r in rejects])
        per_device: dict[str | None, int] = {}
        for r in rejects:
            per_device[r.device] = per_device.get(r.device, 0) + 1
        self._executemany("UPDATE devices SET rejected = rejected + ? WHERE device = ?",
                          [(count, device) for device, count in per_device.items() if device])
        for device in per_device:
            self._trim_rejects(device)

    def _trim_rejects(self, device: str | None) -> None:
        keep = REJECTS_KEPT if device else REJECTS_KEPT_UNKNOWN
        same = "device = ?" if device else "device IS NULL"
        args = [device] if device else []
        self.db.execute(f"DELETE FROM rejects WHERE {same} AND id <= (SELECT id FROM rejects WHERE {same} "
                        "ORDER BY id DESC LIMIT 1 OFFSET ?)", [*args, *args, keep])

    def device_rejects(self, per_device: int = 5, devices: Sequence[str] | None = None) -> dict[str, list[dict]]:
        """device -> its newest rejected messages (at most `per_device`), newest first; of `devices` when given."""
        out: dict[str, list[dict]] = {}
        for chunk in [None] if devices is None else chunks(list(devices)):
            where = "device IS NOT NULL" if chunk is None else f"device IN ({marks(len(chunk))})"
            for row in self.db.query(
                    "SELECT device, received_at, topic, reason, stream, seq FROM (SELECT *, row_number() OVER "
                    f"(PARTITION BY device ORDER BY id DESC) AS n FROM rejects WHERE {where}) "
                    "WHERE n <= ? ORDER BY device, n", [*(chunk or []), per_device]):
                out.setdefault(row["device"], []).append(row)
        return out

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
