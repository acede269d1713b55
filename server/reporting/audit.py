"""Audit bundles from the database, and `ceval audit verify` (docs/audit.md).

A bundle holds, for a window (or every window) and a range of days, every stored event of the streams with
events in the range, from the seq before the first (its chain fields) to the last (to the stream's last
acknowledged one when the range has no end), as stored: the raw signed event, its stored columns and chain
fields, the rating row the figures count (or the exclusion an upheld appeal made, with who, when and why), the
keys pinned for each device, and what the server recorded of the seqs it does not hold (declared lost,
rejected). `shared/signing.py` checks it: the server here, an auditor with the same file and only the bundle.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from server.store import Store
from shared import signing
from shared.timefmt import format_ts, from_ms


def _when(ms: int | None) -> str | None:
    return format_ts(from_ms(ms)) if ms is not None else None


def bundle(store: Store, window: str | None = None, start: int | None = None, end: int | None = None,
           made_at: int | None = None, days: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    streams = list(_streams(store, window, start, end))
    devices = sorted({s["device"] for s in streams})
    return {
        "format": signing.BUNDLE_FORMAT, "made_at": _when(made_at), "window": window,
        "from": days[0], "to": days[1],
        "keys": {d: [{"fingerprint": p.fingerprint, "key": p.key, "pinned_at": _when(p.pinned_at),
                      "pinned_by": p.pinned_by, "unpinned_at": _when(p.unpinned_at)} for p in store.keys.pins(d)]
                 for d in devices},
        "streams": streams,
        "uncounted": [{"id": event_id, "window": where, "at": _when(at)}
                      for event_id, where, at in store.audit.ratings_without_event(window, start, end)],
    }


def _streams(store: Store, window: str | None, start: int | None, end: int | None) -> Iterator[dict]:
    for stream, device, low, high in store.audit.streams_in(window, start, end):
        if end is None:
            high = max(high, store.audit.stream_marks(stream)[0])
        rows = store.audit.stream_events(stream, max(low - 1, 1), high)
        before = rows.pop(0) if rows and rows[0]["seq"] < low else None
        ids = [r["id"] for r in rows if r["type"] == "rating"]
        counted, excluded = store.audit.ratings(ids), store.audit.excluded(ids)
        yield {
            "stream": stream, "device": device, "from_seq": low, "to_seq": high,
            "before": {"seq": before["seq"], **_chain(before)} if before else None,
            "events": [_event(r, counted.get(r["id"]), excluded.get(r["id"])) for r in rows],
            "lost": [{"from_seq": a, "to_seq": b, "declared_at": _when(at)} for a, b, at in store.audit.gaps(stream)
                     if a <= high and b >= low],
            "rejected": [{"seq": seq, "at": _when(at), "reason": reason}
                         for seq, (at, reason) in store.audit.rejections(stream).items() if low <= seq <= high],
        }


def _chain(row: dict) -> dict:
    return {"prev": row["prev"].hex() if row["prev"] else None,
            "digest": row["digest"].hex() if row["digest"] else None}


def _rating(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {**row, "reasons": json.loads(row["reasons"]) if row["reasons"] else None}


def _event(row: dict, counted: dict | None, excluded: dict | None) -> dict:
    out = {"seq": row["seq"], "id": row["id"], "window": row["window"], "staff": row["staff"], "type": row["type"],
           "received_at": _when(row["received_at"]), "payload": row["payload"] or None, **_chain(row)}
    if row["type"] == "rating":
        out["counted"] = _rating(counted)
        out["excluded"] = None if excluded is None else {
            **{k: v for k, v in _rating(excluded).items()
               if k not in ("appeal_id", "decided_by", "decided_at", "reason")},
            "appeal": excluded["appeal_id"], "by": excluded["decided_by"], "at": _when(excluded["decided_at"]),
            "reason": excluded["reason"]}
    return out


def verify(store: Store, window: str | None = None, start: int | None = None, end: int | None = None
           ) -> signing.Checked:
    """The bundle of the range, checked as an auditor checks it."""
    return signing.check_bundle(bundle(store, window, start, end))
