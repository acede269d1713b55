"""From raw MQTT messages to stored rows and acks: validation, de-duplication,
re-timing, per-stream progress and absences. No MQTT here: the collector hands
in (topic, payload) pairs, tests hand in the same.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

from shared.clock import Clock
from shared.contract import Ack, ContractError, Event, parse_event, parse_status
from shared.timefmt import parse_ts, to_ms
from shared.topics import TopicError, parse_topic

from .store import Reject, Store, StoredEvent
from .store.cases import DEFAULT_ZONE

log = logging.getLogger(__name__)

FUTURE_LIMIT_MS = 5 * 60 * 1000
EARLIEST_MS = to_ms(datetime(2024, 1, 1, tzinfo=timezone.utc))


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes


@dataclass
class BatchResult:
    acks: list[tuple[str, Ack]] = field(default_factory=list)  # (device, ack)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class _Refused(NamedTuple):
    """A message refused in a batch, kept in arrival order until the batch writes its rejects."""
    message: Message
    device: str | None
    reason: str
    stream: str | None
    seq: int | None
    handled: bool  # it names a stream of its device and a seq: it counts as handled for the ack


class _Valid(NamedTuple):
    """A valid event of a batch, stored or found a duplicate once the batch checked ids and seqs set-wise."""
    message: Message
    device: str
    item: StoredEvent


@dataclass
class _Batch:
    """What one transaction has seen, so each device and window is written once per batch."""
    now: int
    result: BatchResult = field(default_factory=BatchResult)
    touched: dict[str, str] = field(default_factory=dict)  # stream -> device: each gets an ack
    devices: set[str] = field(default_factory=set)
    windows: dict[tuple[str, str], int] = field(default_factory=dict)  # (window, device) -> its earliest event
    confirmed: dict[str, bool] = field(default_factory=dict)  # device -> registered (strict mode)
    outcomes: list[_Valid | _Refused] = field(default_factory=list)  # events and rejects, in arrival order
    handled: dict[str, list[int]] = field(default_factory=dict)  # stream -> seqs handled: stored, duplicate, rejected


class Rejected(Exception):
    def __init__(self, reason: str, stream: str | None = None, seq: int | None = None):
        super().__init__(reason)
        self.reason, self.stream, self.seq = reason, stream, seq


class Ingestor:
    def __init__(self, store: Store, clock: Clock, strict: bool = False, gap_timeout: float = 600.0,
                 zone: str = DEFAULT_ZONE):
        self.store = store
        self.clock = clock
        self.strict = strict
        self.zone = zone  # the day a case's deadline counts from, for windows in no site
        self.gap_timeout_ms = int(gap_timeout * 1000)
        self._owners: dict[str, str] = {}  # stream -> device
        self._topics: dict[str, tuple[str, str]] = {}  # topic -> (device, kind), of valid topics

    def handle(self, messages: list[Message]) -> BatchResult:
        """Handle a batch in one transaction; acks are only valid once it committed.

        A message the store cannot take (a bug, not a passing fault such as a
        locked or full disk) must not block the others: the batch is then
        handled one message at a time, and that one is recorded as rejected.
        """
        try:
            return self._handle(messages)
        except sqlite3.OperationalError:
            raise  # passing: nothing is acked, the kiosks send again
        except Exception as exc:
            if len(messages) > 1:
                log.exception("a batch of %d failed; handling its messages one by one", len(messages))
                return self._one_by_one(messages)
            return self._poison(messages[0], exc)

    def _one_by_one(self, messages: list[Message]) -> BatchResult:
        total = BatchResult()
        for message in messages:
            result = self.handle([message])
            total.acks += result.acks
            total.stored += result.stored
            total.duplicates += result.duplicates
            total.rejected += result.rejected
        return total

    def _poison(self, message: Message, exc: Exception) -> BatchResult:
        log.error("could not store a message on %s: %r", message.topic, exc)
        try:
            device = parse_topic(message.topic)[0]
            event = parse_event(message.payload)
            stream, seq = event.stream, event.seq
        except (TopicError, ContractError):
            device = stream = seq = None
        result = BatchResult(rejected=1)
        with self.store.db.atomic():
            self.store.record_reject(to_ms(self.clock.now()), device, message.topic,
                                     f"the server could not store it: {exc!r}"[:500], stream, seq, message.payload)
            if device and stream and self._owns(stream, device):
                self.store.mark_handled(stream, seq)
                result.acks.append((device, Ack(stream, self._advance(stream, device, to_ms(self.clock.now())))))
        return result

    def _handle(self, messages: list[Message]) -> BatchResult:
        """Validate every message in arrival order, then store the batch's events set-wise."""
        batch = _Batch(to_ms(self.clock.now()))
        with self.store.db.atomic():
            for message in messages:
                self._one(message, batch)
            self._settle(batch)
            for stream, device in batch.touched.items():
                upto = self._advance(stream, device, batch.now, batch.handled[stream])
                batch.result.acks.append((device, Ack(stream, upto)))
        return batch.result

    # ------------------------------------------------------------ one message
    def _one(self, message: Message, batch: "_Batch") -> None:
        """Validate one message and apply what does not wait for the batch (devices, status)."""
        device = None
        try:
            try:
                device, kind = self._topic(message.topic)
            except TopicError as exc:
                device = exc.device
                if device:
                    self._seen(device, batch)
                raise Rejected(str(exc)) from None
            if kind in ("ack", "config", "invite"):
                return  # the server's own messages, should a broker echo them
            self._seen(device, batch)
            if kind == "status":
                self._status(device, message.payload)
                return
            try:
                event = parse_event(message.payload)
            except ContractError as exc:
                raise Rejected(exc.reason, exc.stream, exc.seq) from None
            batch.outcomes.append(_Valid(message, device, self._event(device, event, message.payload, batch)))
        except Rejected as exc:
            handled = bool(device and exc.stream and exc.seq and self._owns(exc.stream, device))
            batch.outcomes.append(_Refused(message, device, exc.reason, exc.stream, exc.seq, handled))

    def _topic(self, name: str) -> tuple[str, str]:
        """parse_topic, remembered: a batch comes from a few devices on a few topics."""
        parsed = self._topics.get(name)
        if parsed is None:
            parsed = parse_topic(name)
            if len(self._topics) >= 10_000:
                self._topics.clear()
            self._topics[name] = parsed
        return parsed

    def _settle(self, batch: "_Batch") -> None:
        """Store the batch's valid events and record its rejects, set-wise, with the outcomes of one by one.

        An id stored already, or earlier in the batch, is a duplicate; a new id whose seq is held by
        another event is rejected. Events and rejects are written in arrival order; the seqs handled
        are left in `batch.handled` for `_advance`.
        """
        for (window, device), at in batch.windows.items():  # in the order the batch first named them
            self.store.ensure_window(window, device, at)
        valid = [o for o in batch.outcomes if type(o) is _Valid]
        existing = self.store.existing_ids({o.item.event.id for o in valid}) if valid else set()
        seqs: dict[str, set[int]] = {}
        for o in valid:
            seqs.setdefault(o.item.event.stream, set()).add(o.item.event.seq)
        holders = {stream: self.store.taken_seqs(stream, wanted) for stream, wanted in seqs.items()}
        result, touched, handled = batch.result, batch.touched, batch.handled
        stored: list[StoredEvent] = []
        rejects: list[Reject] = []
        for outcome in batch.outcomes:
            if type(outcome) is _Valid:
                event = outcome.item.event
                taken = holders[event.stream]
                holder = None if event.id in existing else taken.get(event.seq)
                if holder is None:
                    if event.id in existing:
                        result.duplicates += 1
                    else:
                        existing.add(event.id)
                        taken[event.seq] = event.id
                        stored.append(outcome.item)
                        result.stored += 1
                    handled.setdefault(event.stream, []).append(event.seq)
                    touched[event.stream] = outcome.device
                    continue
                outcome = _Refused(outcome.message, outcome.device,
                                   f"seq {event.seq} of stream {event.stream} already belongs to event {holder}",
                                   None, None, False)
            message, device = outcome.message, outcome.device
            result.rejected += 1
            log.warning("rejected a message from %s on %s: %s", device or "?", message.topic, outcome.reason)
            rejects.append(Reject(batch.now, device, message.topic, outcome.reason, outcome.stream, outcome.seq,
                                  message.payload))
            if outcome.handled:
                handled.setdefault(outcome.stream, []).append(outcome.seq)
                touched[outcome.stream] = device
        self.store.insert_events(stored)
        self.store.open_cases_for(stored, batch.now, self.zone)  # a case per bad rating (server/cases.py)
        self.store.record_rejects(rejects)

    def _seen(self, device: str, batch: "_Batch") -> None:
        if device not in batch.devices:
            batch.devices.add(device)
            self.store.seen_device(device, batch.now)

    def _status(self, device: str, payload: bytes) -> None:
        if not payload:
            return  # a retained status being cleared
        try:
            status = parse_status(payload)
        except ContractError as exc:
            raise Rejected(f"bad status: {exc.reason}") from None
        self.store.update_status(device, status)

    def _owns(self, stream: str, device: str) -> bool:
        """A stream belongs to the device that first used it (that never changes, so it is cached)."""
        owner = self._owners.get(stream)
        if owner is None:
            owner = self._owners[stream] = self.store.stream(stream, device)["device"]
        return owner == device

    def _event(self, device: str, event: Event, payload: bytes, batch: "_Batch") -> StoredEvent:
        """A valid event as it will be stored, unless its device may not send it."""
        if self.strict:
            confirmed = batch.confirmed.get(device)
            if confirmed is None:
                confirmed = batch.confirmed[device] = self.store.device_confirmed(device)
            if not confirmed:
                raise Rejected(f"device {device} is not registered (server runs --strict)", event.stream, event.seq)
        if not self._owns(event.stream, device):
            raise Rejected(f"stream {event.stream} belongs to another device")
        at, retimed = self._effective_time(event.ts, batch.now)
        earliest = batch.windows.get((event.window, device))
        if earliest is None or at < earliest:
            batch.windows[event.window, device] = at
        return StoredEvent(event, device, at, batch.now, retimed, payload.decode())

    @staticmethod
    def _effective_time(ts: str, now: int) -> tuple[int, bool]:
        at = to_ms(parse_ts(ts))
        if at > now + FUTURE_LIMIT_MS or at < EARLIEST_MS:
            return now, True
        return at, False

    # ------------------------------------------------------------ stream progress
    def _advance(self, stream: str, device: str, now: int, fresh: Collection[int] = ()) -> int:
        """Move the stream's contiguous mark, apply what became contiguous, return the new mark.

        `fresh`: seqs the batch handled that are not in stream_ahead yet; only those the mark
        does not pass are written there.
        """
        row = self.store.stream(stream, device)
        upto = old = row["upto_seq"]
        ahead = self.store.ahead(stream)
        if fresh:
            ahead = sorted(set(ahead).union(fresh))
        for seq in ahead:
            if seq == upto + 1:
                upto = seq
            elif seq > upto:
                break
        gap_since = None
        waiting = [s for s in ahead if s > upto]
        if waiting:
            gap_since = row["gap_since"] or now
            if now - gap_since >= self.gap_timeout_ms:
                if upto > old:
                    self._apply_in_order(stream, old, upto)  # what came before the gap still counts
                log.error("stream %s of %s: seq %d..%d never arrived in %.0f s; declared lost",
                          stream, device, upto + 1, waiting[0] - 1, self.gap_timeout_ms / 1000)
                self.store.declare_gap(stream, device, upto + 1, waiting[0] - 1, now)
                self.store.advance(stream, waiting[0] - 1, None, ahead[-1])
                return self._advance(stream, device, now, [s for s in fresh if s >= waiting[0]])
        self.store.mark_all_handled((stream, s) for s in fresh if s > upto)
        self.store.advance(stream, upto, gap_since, ahead[-1] if ahead else upto)
        if upto > old:
            self._apply_in_order(stream, old, upto)
        return upto

    def _apply_in_order(self, stream: str, after: int, upto: int) -> None:
        """Presence and the clerk on duty follow the stream's order, not arrival order."""
        for event_id, window, staff, at, payload in self.store.presences_between(stream, after, upto):
            presence, absence = self.store.window_presence(window)
            state = json.loads(payload)["state"]
            if state == "away" and presence != "away":
                self.store.open_absence(window, staff, at, event_id)
            elif state == "present" and presence == "away":
                self.store.close_absence(window, absence, at, event_id)
        for window, staff in self.store.staff_between(stream, after, upto):
            self.store.set_staff(window, staff)
