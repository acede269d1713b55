"""From raw MQTT messages to stored rows and acks: validation, de-duplication,
re-timing, per-stream progress and absences. No MQTT here: the collector hands
in (topic, payload) pairs, tests hand in the same.

Who may say what: a confirmed device with an assignment history (device_windows) speaks only for the
window it was assigned to at each event's time (give or take ASSIGNMENT_SLACK_MS of clock); any other
event is rejected, recorded and acked. With --strict an unconfirmed device is rejected and creates
nothing; a status never creates a window for a confirmed device or under --strict. Every device is held
to the event quota of server/domain/quota.py.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from server.domain.bounded import Bounded
from server.domain.collector_group import quota_share
from server.domain.quota import EventQuota, RateEpisodes
from server.domain.zones import DEFAULT_ZONE
from server.followup import cases as followup_cases
from server.followup.alerts import raise_chain_alert, raise_rate_alert, raise_storage_alert
from server.store import Pin, Reject, Store, StoredEvent
from shared import signing
from shared.clock import Clock
from shared.contract import Ack, ContractError, Event, parse_event, parse_status
from shared.timefmt import format_ts, from_ms, parse_ts, to_ms
from shared.topics import TopicError, parse_topic

log = logging.getLogger(__name__)

FUTURE_LIMIT_MS = 5 * 60 * 1000
# How far an event may be timed outside its device's assignment to a window and still count there: a
# kiosk's clock may be off by as much as the contract tolerates ahead (FUTURE_LIMIT_MS).
ASSIGNMENT_SLACK_MS = FUTURE_LIMIT_MS
CACHED_STREAMS = 20_000  # stream -> device remembered (a stream's owner never changes)
CACHED_TOPICS = 20_000   # topic -> (device, kind) remembered
EARLIEST_MS = to_ms(datetime(2024, 1, 1, tzinfo=UTC))


class Message(NamedTuple):
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
    clock_ms: int  # the kiosk's own time of the event (its `ts`), which the quota counts by
    bound: bool    # its device is bound to its window by the registry: it may not create one


@dataclass
class _Batch:
    """What one transaction has seen, so each device and window is written once per batch."""
    now: int
    result: BatchResult = field(default_factory=BatchResult)
    touched: dict[str, str] = field(default_factory=dict)  # stream -> device: each gets an ack
    devices: set[str] = field(default_factory=set)
    confirmed: dict[str, bool] = field(default_factory=dict)  # device -> confirmed in the registry
    assigned: dict[str, list[tuple[str, int, int | None]]] = field(default_factory=dict)  # device -> history
    rate: int | None = None  # the event quota per device and minute, read once per batch
    strays: dict[tuple[str, str], int] = field(default_factory=dict)  # (stream, device) of --strict's refused
    outcomes: list[_Valid | _Refused] = field(default_factory=list)  # events and rejects, in arrival order
    handled: dict[str, list[int]] = field(default_factory=dict)  # stream -> seqs handled: stored, duplicate, rejected
    pins: dict[str, Pin | None] = field(default_factory=dict)  # device -> its pinned key, read once per batch
    links: dict[tuple[str, int], tuple[str, bytes]] = field(default_factory=dict)  # this batch's chained events
    new_chains: dict[str, str] = field(default_factory=dict)  # device -> stream: a pinned kiosk began a chain
    chain_refused: dict[str, str] = field(default_factory=dict)  # device -> the last reason


def _linked(prev: str | None, digest: bytes | None, payload: str) -> tuple[str | None, bytes | None]:
    """A stored event's chain fields; an unpinned kiosk's digest, not stored until retention, from its raw event.
    (None, None) for an event outside any chain, or one whose raw event is gone without its digest."""
    if prev is not None and digest is None and payload:
        digest = signing.digest(json.loads(payload))
    return (prev, digest) if digest is not None else (None, None)


class Rejected(Exception):
    def __init__(self, reason: str, stream: str | None = None, seq: int | None = None):
        super().__init__(reason)
        self.reason, self.stream, self.seq = reason, stream, seq


class Ingestor:
    def __init__(self, store: Store, clock: Clock, strict: bool = False, gap_timeout: float = 600.0,
                 zone: str = DEFAULT_ZONE, members: int = 1):
        """`members`: how many collectors share the kiosks' messages (each holds a device to its share of the
        quota); whatever else they know of a stream they read from the store, in the batch's transaction."""
        self.store = store
        self.members = members
        self.clock = clock
        self.strict = strict
        self.zone = zone  # the day a case's deadline counts from, for windows in no site
        self.gap_timeout_ms = int(gap_timeout * 1000)
        self._owners: Bounded[str, str] = Bounded(CACHED_STREAMS)  # stream -> device
        self._topics: Bounded[str, tuple[str, str]] = Bounded(CACHED_TOPICS)  # topic -> (device, kind)
        self._quota = EventQuota()
        self._episodes = RateEpisodes()

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
        log.error("could not store a message on %s: %r", message.topic[:200], exc)
        device = stream = seq = None
        try:
            device = parse_topic(message.topic)[0]
            event = parse_event(message.payload)
            stream, seq = event.stream, event.seq
        except Exception:  # noqa: BLE001 - whatever it is, it is recorded below and never stops the batch
            stream = seq = None
        result = BatchResult(rejected=1)
        with self.store.ingest.writing():
            self.store.ingest.record_reject(to_ms(self.clock.now()), device, message.topic,
                                     f"the server could not store it: {exc!r}"[:500], stream, seq, message.payload)
            if device and stream and self._owns(stream, device):
                self.store.ingest.mark_handled(stream, seq)
                result.acks.append((device, Ack(stream, self._advance(stream, device, to_ms(self.clock.now())))))
        return result

    def _handle(self, messages: list[Message]) -> BatchResult:
        """Validate every message in arrival order, then store the batch's events set-wise."""
        batch = _Batch(to_ms(self.clock.now()))
        # The write lock first: another collector (or the web app) committing between this batch's reads and its
        # first write would otherwise make SQLite refuse the write at once, and the batch would go again.
        with self.store.ingest.writing():
            for message in messages:
                self._one(message, batch)
            self._settle(batch)
            for stream, device in batch.touched.items():
                upto = self._advance(stream, device, batch.now, batch.handled[stream])
                batch.result.acks.append((device, Ack(stream, upto)))
            # An unconfirmed device under --strict: every event it sends is refused, none is kept for later.
            batch.result.acks += [(device, Ack(stream, seq)) for (stream, device), seq in batch.strays.items()]
        return batch.result

    # ------------------------------------------------------------ one message
    def _one(self, message: Message, batch: _Batch) -> None:
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
                self._status(device, message.payload, batch)
                return
            try:
                event = parse_event(message.payload)
            except ContractError as exc:
                raise Rejected(exc.reason, exc.stream, exc.seq) from None
            batch.outcomes.append(self._event(device, event, message, batch))
        except Rejected as exc:
            handled = False
            if device and exc.stream and exc.seq:
                if self.strict and not self._confirmed(device, batch):
                    # No stream is created for it; its kiosk is told to stop sending what can never count.
                    batch.strays[exc.stream, device] = max(exc.seq, batch.strays.get((exc.stream, device), 0))
                else:
                    handled = self._owns(exc.stream, device)
            batch.outcomes.append(_Refused(message, device, exc.reason, exc.stream, exc.seq, handled))

    def _topic(self, name: str) -> tuple[str, str]:
        """parse_topic, remembered: a batch comes from a few devices on a few topics."""
        parsed = self._topics.get(name)
        if parsed is None:
            parsed = self._topics[name] = parse_topic(name)
        return parsed

    def _settle(self, batch: _Batch) -> None:
        """Store the batch's valid events and record its rejects, set-wise, with the outcomes of one by one.

        An id stored already, or earlier in the batch, is a duplicate; a new id whose seq is held by
        another event is rejected. Events and rejects are written in arrival order; the seqs handled
        are left in `batch.handled` for `_advance`.
        """
        valid = [o for o in batch.outcomes if type(o) is _Valid]
        existing = self.store.ingest.existing_ids({o.item.event.id for o in valid}) if valid else set()
        seqs: dict[str, set[int]] = {}
        for o in valid:
            seqs.setdefault(o.item.event.stream, set()).add(o.item.event.seq)
        holders = {stream: self.store.ingest.taken_seqs(stream, wanted) for stream, wanted in seqs.items()}
        result, touched, handled = batch.result, batch.touched, batch.handled
        stored: list[_Valid] = []
        rejects: list[Reject] = []
        over_quota: set[str] = set()
        for outcome in batch.outcomes:
            if type(outcome) is _Valid:
                event = outcome.item.event
                taken = holders[event.stream]
                holder = None if event.id in existing else taken.get(event.seq)
                if holder is None and event.id not in existing and not self._admit(outcome, batch):
                    over_quota.add(outcome.device)
                    outcome = _Refused(outcome.message, outcome.device,
                                       f"rate: device {outcome.device} sent more than {batch.rate} events in the "
                                       f"minute {format_ts(from_ms(outcome.clock_ms - outcome.clock_ms % 60_000))} "
                                       "of its clock", event.stream, event.seq, True)
                elif holder is None:
                    if event.id in existing:
                        result.duplicates += 1
                    else:
                        existing.add(event.id)
                        taken[event.seq] = event.id
                        stored.append(outcome)
                        result.stored += 1
                    handled.setdefault(event.stream, []).append(event.seq)
                    touched[event.stream] = outcome.device
                    continue
                else:
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
        self._windows(stored)
        items = [o.item for o in stored]
        self.store.ingest.insert_events(items)
        followup_cases.open_cases_for(self.store, items, batch.now, self.zone)  # a case per bad rating (server/domain/cases.py)
        self.store.ingest.record_rejects(rejects)
        for device in over_quota:
            if self._episodes.refused(device, batch.now):
                raise_rate_alert(self.store, device, batch.rate, batch.now)
        for device, stream in batch.new_chains.items():
            if self.store.ingest.streams_of(device) > 1:  # its first chain is no news
                raise_chain_alert(self.store, device, "new", batch.now, stream=stream)
        for device, reason in batch.chain_refused.items():
            raise_chain_alert(self.store, device, "refused", batch.now, reason=reason)

    def _admit(self, outcome: _Valid, batch: _Batch) -> bool:
        """The event quota (server/domain/quota.py) for an event about to be stored."""
        if batch.rate is None:
            batch.rate = self.store.settings.device_rate()
        return self._quota.admit(outcome.device, outcome.clock_ms, quota_share(batch.rate, self.members))

    def _windows(self, stored: list[_Valid]) -> None:
        """The windows of the batch's stored events, in the order it first named them, with their earliest
        event: created for a device the registry does not bind, only noted for a bound one (its window exists)."""
        earliest: dict[tuple[str, str], tuple[int, bool]] = {}
        for o in stored:
            key = (o.item.event.window, o.device)
            known = earliest.get(key)
            if known is None or o.item.at < known[0]:
                earliest[key] = (o.item.at, o.bound)
        for (window, device), (at, bound) in earliest.items():
            if bound:
                self.store.ingest.note_window_event(window, at)
            else:
                self.store.ingest.ensure_window(window, device, at)

    def _seen(self, device: str, batch: _Batch) -> None:
        if device not in batch.devices:
            batch.devices.add(device)
            self.store.ingest.seen_device(device, batch.now)

    def _status(self, device: str, payload: bytes, batch: _Batch) -> None:
        if not payload:
            return  # a retained status being cleared
        try:
            status = parse_status(payload)
        except ContractError as exc:
            raise Rejected(f"bad status: {exc.reason}") from None
        # The window a status names is created only for an unconfirmed device of a server not --strict (the demo).
        before = self.store.ingest.update_status(device, status, now=batch.now,
                                          create_window=not self.strict and not self._confirmed(device, batch))
        if status.online and status.storage and before is None:  # its outbox stopped storing: a new episode
            raise_storage_alert(self.store, device, status.storage, batch.now)
        if status.key:
            self.store.keys.reported(device, status.key)
            batch.pins.pop(device, None)

    def _confirmed(self, device: str, batch: _Batch) -> bool:
        confirmed = batch.confirmed.get(device)
        if confirmed is None:
            confirmed = batch.confirmed[device] = self.store.ingest.device_confirmed(device)
        return confirmed

    def _owns(self, stream: str, device: str) -> bool:
        """A stream belongs to the device that first used it (that never changes, so it is cached)."""
        owner = self._owners.get(stream)
        if owner is None:
            owner = self._owners[stream] = self.store.ingest.stream(stream, device)["device"]
        return owner == device

    def _event(self, device: str, event: Event, message: Message, batch: _Batch) -> _Valid:
        """A valid event as it will be stored, unless its device may not send it."""
        confirmed = self._confirmed(device, batch)
        if self.strict and not confirmed:
            raise Rejected(f"device {device} is not registered (server runs --strict)", event.stream, event.seq)
        if not self._owns(event.stream, device):
            raise Rejected(f"stream {event.stream} belongs to another device")
        clock_ms = to_ms(parse_ts(event.ts))
        at, retimed = self._effective_time(clock_ms, batch.now)
        history = self._assignments(device, batch) if confirmed else []
        if history:
            self._check_window(device, event, at, history)
        elif confirmed and self.strict:
            raise Rejected(f"window: device {device} is assigned to no window (server runs --strict)",
                           event.stream, event.seq)
        content_digest = self._chained(device, event, message.payload, batch)
        return _Valid(message, device, StoredEvent(event, device, at, batch.now, retimed, message.payload.decode(),
                                                   content_digest), clock_ms, bool(history))

    # ------------------------------------------------------------ signatures and the chain
    def _chained(self, device: str, event: Event, payload: bytes, batch: _Batch) -> bytes | None:
        """The digest of a pinned device's event (None for others: the raw event holds it, and retention stores
        it before the raw event goes). A device with a pinned key must sign every event with it and keep its
        chain: else the event is rejected."""
        if device not in batch.pins:
            batch.pins[device] = self.store.keys.pinned(device)
        pin = batch.pins[device]
        if pin is None:
            return None  # its `prev` is stored; retention stores its digest before the raw event goes
        if event.seq == 1 and event.prev == signing.genesis(event.stream):
            batch.new_chains[device] = event.stream  # announced even when the event itself is refused
        if event.prev is None or event.sig is None:
            self._refuse_chain(device, f"unsigned event: device {device} has a pinned key", event, batch)
        fields = json.loads(payload)
        content_digest = signing.digest(fields)
        if pin.key is None:
            self._refuse_chain(device, f"sig: device {device} has not yet reported its pinned key "
                               f"{pin.fingerprint[:16]}…", event, batch)
        if not signing.verify(pin.key, fields):
            self._refuse_chain(device, f"sig: the signature does not verify with device {device}'s pinned key "
                               f"{pin.fingerprint[:16]}…", event, batch)
        self._check_chain(device, event, content_digest, batch)
        batch.links[event.stream, event.seq] = (event.prev, content_digest)
        return content_digest

    def _check_chain(self, device: str, event: Event, content_digest: bytes, batch: _Batch) -> None:
        """`prev` names the stored event before it (or the stream's genesis), and the stored event after it
        names this one."""
        stream, seq = event.stream, event.seq
        wanted = [s for s in (seq - 1, seq + 1) if s >= 1 and (stream, s) not in batch.links]
        stored = {s: _linked(*row) for s, row in self.store.ingest.chain_links(stream, wanted).items()}
        before = batch.links.get((stream, seq - 1)) or stored.get(seq - 1)
        after = batch.links.get((stream, seq + 1)) or stored.get(seq + 1)
        if event.prev == signing.genesis(stream):
            if before is not None and before[0] is not None:
                self._refuse_chain(device, f"prev: seq {seq} begins a new chain in the middle of stream {stream}",
                                   event, batch)
        elif before is not None and before[0] is not None and event.prev != signing.link(*before):
            self._refuse_chain(device, f"prev: it does not name seq {seq - 1} of stream {stream}", event, batch)
        if after is not None and after[0] is not None and after[0] != signing.link(event.prev, content_digest):
            self._refuse_chain(device, f"prev: seq {seq + 1} of stream {stream} does not name it", event, batch)

    @staticmethod
    def _refuse_chain(device: str, reason: str, event: Event, batch: _Batch) -> None:
        batch.chain_refused[device] = reason
        raise Rejected(reason, event.stream, event.seq)

    def _assignments(self, device: str, batch: _Batch) -> list[tuple[str, int, int | None]]:
        history = batch.assigned.get(device)
        if history is None:
            history = batch.assigned[device] = self.store.ingest.assignments(device)
        return history

    @staticmethod
    def _check_window(device: str, event: Event, at: int, history: list[tuple[str, int, int | None]]) -> None:
        """A bound device speaks for the window it was assigned to at the event's time, and no other."""
        spans = [(since, until) for window, since, until in history if window == event.window]
        for since, until in spans:
            if since - ASSIGNMENT_SLACK_MS <= at and (until is None or at < until + ASSIGNMENT_SLACK_MS):
                return
        if not spans:
            now_at = next((window for window, _, until in history if until is None), None)
            raise Rejected(f"window: {event.window} is not device {device}'s window (it serves "
                           f"{now_at or 'no window now'})", event.stream, event.seq)
        since, until = spans[-1] if at >= spans[-1][0] else spans[0]
        served = f"from {format_ts(from_ms(since))}" + (f" to {format_ts(from_ms(until))}" if until else "")
        raise Rejected(f"window: {event.window} was device {device}'s only {served}, the event is timed "
                       f"{format_ts(from_ms(at))}", event.stream, event.seq)

    @staticmethod
    def _effective_time(at: int, now: int) -> tuple[int, bool]:
        if at > now + FUTURE_LIMIT_MS or at < EARLIEST_MS:
            return now, True
        return at, False

    # ------------------------------------------------------------ stream progress
    def _advance(self, stream: str, device: str, now: int, fresh: Collection[int] = ()) -> int:
        """Move the stream's contiguous mark, apply what became contiguous, return the new mark.

        `fresh`: seqs the batch handled that are not in stream_ahead yet; only those the mark
        does not pass are written there.
        """
        row = self.store.ingest.stream(stream, device)
        upto = old = row["upto_seq"]
        ahead = self.store.ingest.ahead(stream)
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
                self.store.ingest.declare_gap(stream, device, upto + 1, waiting[0] - 1, now)
                self.store.ingest.advance(stream, waiting[0] - 1, None, ahead[-1])
                return self._advance(stream, device, now, [s for s in fresh if s >= waiting[0]])
        self.store.ingest.mark_all_handled((stream, s) for s in fresh if s > upto)
        self.store.ingest.advance(stream, upto, gap_since, ahead[-1] if ahead else upto)
        if upto > old:
            self._apply_in_order(stream, old, upto)
        return upto

    def _apply_in_order(self, stream: str, after: int, upto: int) -> None:
        """Presence and the clerk on duty follow the stream's order, not arrival order."""
        for event_id, window, staff, at, payload in self.store.ingest.presences_between(stream, after, upto):
            presence, absence = self.store.ingest.window_presence(window)
            state = json.loads(payload)["state"]
            if state == "away" and presence != "away":
                self.store.ingest.open_absence(window, staff, at, event_id)
            elif state == "present" and presence == "away":
                self.store.ingest.close_absence(window, absence, at, event_id)
        for window, staff in self.store.ingest.staff_between(stream, after, upto):
            self.store.ingest.set_staff(window, staff)
