"""Re-checking stored events against their kiosks' pinned keys and chains (`ceval audit verify`, docs/audit.md).

Each stream with events in the range is read from the seq before its first one in the range to its last (to its
acknowledged end when the range is open), and every stored event is checked:

- its signature, with the key pinned for its device (any key ever pinned: a kiosk re-pinned after a repair keeps
  its older events provable); a device never pinned is not signed-checked, and the summary counts its events;
- its stored columns (seq, stream, window, clerk, type) and the rating row figures count (score, scale, reasons,
  clerk, window, case number) against what the kiosk signed;
- its place in the chain: `prev` names the event before it, whose link is recomputed from what is stored.

Breaks: `missing` (a seq not stored: deleted, or never received and declared lost, or rejected when it came),
`altered` (a stored value differs from the signed one, or the signature fails), `re-ordered` (stored at another
seq than the one signed), `unsigned` (a pinned device's event without a signature). An upheld appeal's exclusion
is listed with who decided it and when, never as a break.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from server.store import Pin, Store
from shared import signing
from shared.timefmt import format_ts, from_ms


@dataclass(frozen=True)
class Finding:
    device: str
    stream: str
    seq: int | None
    what: str  # missing | altered | re-ordered | unsigned | excluded | new chain
    detail: str

    def line(self) -> str:
        seq = f" seq {self.seq}" if self.seq is not None else ""
        return f"{self.what}: device {self.device} stream {self.stream}{seq}: {self.detail}"


@dataclass
class Audit:
    events: int = 0        # stored events checked
    signed: int = 0        # whose signature was checked with a pinned key
    unpinned: int = 0      # of devices never pinned: chain and rows checked, signature not
    pruned: int = 0        # raw payload gone (retention): chain checked from stored prev and digest only
    breaks: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)  # exclusions, announced new chains

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(store: Store, window: str | None = None, start: int | None = None, end: int | None = None) -> Audit:
    audit = Audit()
    pins: dict[str, list[Pin]] = {}
    for stream, device, low, high in store.audit.streams_in(window, start, end):
        if device not in pins:
            pins[device] = [p for p in store.keys.pins(device) if p.key]
        upto, _ = store.audit.stream_marks(stream)
        if end is None:
            high = max(high, upto)
        _stream(store, audit, device, stream, max(low - 1, 1), low, high, pins[device])
    for event_id, where, at in store.audit.ratings_without_event(window, start, end):
        audit.breaks.append(Finding("?", "?", None, "altered", f"rating {event_id} of window {where} at "
                                    f"{format_ts(from_ms(at))} is counted but no stored event backs it"))
    return audit


def _stream(store: Store, audit: Audit, device: str, stream: str, context: int, low: int, high: int,
            pins: list[Pin]) -> None:
    rows = {r["seq"]: r for r in store.audit.stream_events(stream, context, high)}
    ratings_ids = [r["id"] for r in rows.values() if r["type"] == "rating"]
    ratings, excluded = store.audit.ratings(ratings_ids), store.audit.excluded(ratings_ids)
    lost = store.audit.gaps(stream)
    rejected = store.audit.rejections(stream)
    previous: tuple[str | None, bytes | None] | None = None  # (prev, digest) of the event before, when stored
    if context < low and context in rows:
        previous = _chain_of(rows[context])
    for seq in range(low, high + 1):
        row = rows.get(seq)
        if row is None:
            audit.breaks.append(Finding(device, stream, seq, "missing", _why_missing(seq, lost, rejected)))
            previous = None
            continue
        audit.events += 1
        previous = _event(audit, device, stream, seq, row, previous, pins, ratings, excluded)


def _why_missing(seq: int, lost: list[tuple[int, int, int]], rejected: dict[int, tuple[int, str]]) -> str:
    for low, high, at in lost:
        if low <= seq <= high:
            return f"never received: the server declared seq {low}..{high} lost at {format_ts(from_ms(at))}"
    if seq in rejected:
        at, reason = rejected[seq]
        return f"rejected when it came at {format_ts(from_ms(at))}: {reason}"
    return "not stored (deleted?)"


def _chain_of(row: dict) -> tuple[str | None, bytes | None]:
    return (row["prev"].hex() if row["prev"] else None, row["digest"])


def _event(audit: Audit, device: str, stream: str, seq: int, row: dict, previous, pins: list[Pin],
           ratings: dict, excluded: dict) -> tuple[str | None, bytes | None]:
    """Check one stored event; returns its (prev, digest) for the next one's check."""
    def found(what: str, detail: str) -> None:
        audit.breaks.append(Finding(device, stream, seq, what, detail))

    stored_prev, stored_digest = _chain_of(row)
    if not row["payload"]:  # retention took the raw event: its stored chain fields still link
        audit.pruned += 1
        fields = None
    else:
        fields = json.loads(row["payload"])
        if fields.get("seq") != seq:
            found("re-ordered", f"stored at seq {seq}, signed as seq {fields.get('seq')}")
        for name in ("id", "stream", "window", "type", "staff"):
            if fields.get(name) != row[name]:
                found("altered", f"{name} stored as {row[name]!r}, signed {fields.get(name)!r}")
        if fields.get("prev") is not None:
            content_digest = signing.digest(fields)
            if stored_digest is not None and stored_digest != content_digest or fields["prev"] != stored_prev:
                found("altered", "its stored chain fields differ from the event's")
            stored_prev, stored_digest = fields["prev"], content_digest
        if pins:
            if fields.get("sig") is None:
                found("unsigned", f"device {device} has a pinned key, the event has no signature")
            elif not any(signing.verify(p.key, fields) for p in pins):
                found("altered", "the signature does not verify with the device's pinned key")
            else:
                audit.signed += 1
        else:
            audit.unpinned += 1
        if row["type"] == "rating":
            _rating(audit, found, device, stream, seq, row["id"], fields, ratings, excluded)
    if stored_prev is not None and previous is not None and previous[0] is not None:
        if stored_prev != signing.link(*previous):
            found("re-ordered" if fields is not None and fields.get("seq") != seq else "altered",
                  f"its prev does not name the stored seq {seq - 1}")
    elif stored_prev is not None and stored_prev == signing.genesis(stream) and seq > 1:
        audit.notes.append(Finding(device, stream, seq, "new chain", "the chain begins here (a kiosk upgraded "
                                                                      "to signing in the middle of its stream)"))
    return (stored_prev, stored_digest) if stored_prev is not None else (None, None)


def _rating(audit: Audit, found, device: str, stream: str, seq: int, event_id: str, fields: dict,
            ratings: dict, excluded: dict) -> None:
    signed = {"window": fields.get("window"), "staff": fields.get("staff"), "score": fields.get("score"),
              "scale": fields.get("scale"), "reasons": fields.get("reasons") or None, "case_no": fields.get("case")}
    row = ratings.get(event_id)
    if row is None and event_id in excluded:
        row = excluded[event_id]
        audit.notes.append(Finding(device, stream, seq, "excluded", f"rating {event_id} taken out of the figures "
                                   f"by {row['decided_by']} at {format_ts(from_ms(row['decided_at']))} "
                                   f"(appeal {row['appeal_id']}: {row['reason']})"))
    if row is None:
        found("missing", f"rating {event_id} is stored as an event but not counted (its rating row is gone)")
        return
    stored = {**row, "reasons": json.loads(row["reasons"]) if row["reasons"] else None}
    for name, value in signed.items():
        if stored[name] != value:
            found("altered", f"rating {name} stored as {stored[name]!r}, signed {value!r}")
