"""Signed, chained events (an extension of v1): what a kiosk signs, how its events chain, its key's fingerprint,
and the check of an audit bundle.

docs/protocol.md ("Signed, chained events") defines each step. This file imports nothing of counter-eval, only
Python's standard library and `cryptography`: an auditor runs it as it is on an audit bundle
(`python3 signing.py BUNDLE.json`, docs/audit.md) without the server, its code or its database, and
`ceval audit verify` runs the same check on a bundle it makes from the database.

- `content`: the event's fields except `prev` and `sig`, as canonical JSON (keys sorted, no spaces, UTF-8
  as is, the way `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes them).
- `digest`: SHA-256 of the content.
- `link`: SHA-256 of `prev` (32 bytes) followed by the digest; the next event of the stream names it as its
  `prev`. The first event of a chain names `genesis(stream)`.
- `sig`: Ed25519 over the canonical JSON of every field except `sig` (so it covers `prev`), base64.

Once a raw event is gone (retention), its stored `prev` and `digest` still recompute the links up to the
next signed event kept: nothing in between can be removed, added or re-ordered unnoticed.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

GENESIS_PREFIX = b"ceval-chain-v1:"
PREV_PATTERN = re.compile(r"^[0-9a-f]{64}\Z")
SIG_PATTERN = re.compile(r"^[A-Za-z0-9+/]{86}==\Z")  # base64 of 64 bytes
KEY_PATTERN = re.compile(r"^[A-Za-z0-9+/]{43}=\Z")   # base64 of a 32-byte Ed25519 public key


def _canonical(fields: Mapping[str, Any], leave_out: tuple[str, ...]) -> bytes:
    return json.dumps({k: v for k, v in fields.items() if k not in leave_out}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


def signed_bytes(fields: Mapping[str, Any]) -> bytes:
    """What `sig` signs: every field but `sig`."""
    return _canonical(fields, ("sig",))


def digest(fields: Mapping[str, Any]) -> bytes:
    """SHA-256 of the content: every field but `prev` and `sig`."""
    return hashlib.sha256(_canonical(fields, ("prev", "sig"))).digest()


def link(prev: str, content_digest: bytes) -> str:
    """The hash the next event of the stream names as its `prev`."""
    return hashlib.sha256(bytes.fromhex(prev) + content_digest).hexdigest()


def genesis(stream: str) -> str:
    """The `prev` of a chain's first event: bound to its stream, so a chain cannot be moved to another."""
    return hashlib.sha256(GENESIS_PREFIX + stream.encode()).hexdigest()


def key_bytes(public_key: str) -> bytes:
    """The 32 bytes of a base64 public key, or ValueError."""
    if not isinstance(public_key, str) or not KEY_PATTERN.match(public_key):
        raise ValueError("not the base64 of a 32-byte Ed25519 public key")
    return base64.b64decode(public_key)


def fingerprint(public_key: str) -> str:
    """SHA-256 of the raw public key, 64 hex digits: what an admin compares and pins."""
    return hashlib.sha256(key_bytes(public_key)).hexdigest()


def read_fingerprint(text: str) -> str:
    """A fingerprint as typed (any case, spaces or colons between groups) in its stored form, or ValueError."""
    plain = re.sub(r"[\s:]", "", text or "").lower()
    if not PREV_PATTERN.match(plain):
        raise ValueError("a key fingerprint is 64 hexadecimal digits (spaces and colons between them allowed)")
    return plain


def shown_fingerprint(value: str) -> str:
    """A fingerprint in groups of four, as the kiosk's `ceval kiosk key` and the Devices page show it."""
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def verify(public_key: str, fields: Mapping[str, Any]) -> bool:
    """Whether `fields["sig"]` is the signature of the key over the event."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    sig = fields.get("sig")
    if not isinstance(sig, str) or not SIG_PATTERN.match(sig):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key_bytes(public_key)).verify(base64.b64decode(sig),
                                                                         signed_bytes(fields))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


# ---------------------------------------------------------------- checking an audit bundle
BUNDLE_FORMAT = "ceval-audit-bundle/1"
RATING_FIELDS = {"window": "window", "staff": "staff", "score": "score", "scale": "scale", "reasons": "reasons",
                 "case_no": "case"}  # a counted row's column -> the signed event's field


class Finding(NamedTuple):
    device: str
    stream: str
    seq: int | None
    what: str  # missing | altered | re-ordered | unsigned (breaks) · excluded | new chain (notes)
    detail: str

    def line(self) -> str:
        seq = f" seq {self.seq}" if self.seq is not None else ""
        return f"{self.what}: device {self.device} stream {self.stream}{seq}: {self.detail}"


class Checked(NamedTuple):
    events: int     # stored events checked
    signed: int     # whose signature verified with a pinned key
    unpinned: int   # received while their device had no pinned key: chain and rows checked, not the signature
    pruned: int     # raw event gone (retention): chain checked from its stored prev and digest only
    breaks: list[Finding]
    notes: list[Finding]

    def summary(self) -> str:
        return (f"{self.events} events checked: {self.signed} signatures verified with pinned keys, "
                f"{self.unpinned} received before their kiosk's key was pinned (chain and rows only), {self.pruned} past "
                f"retention (chain only)")


def check_bundle(bundle: Mapping[str, Any]) -> Checked:
    """Every stream of the bundle: each seq present, each stored event as its kiosk signed it and chained to
    the one before, each counted rating equal to its signed event, exclusions listed."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"not an audit bundle of format {BUNDLE_FORMAT}")
    totals = {"events": 0, "signed": 0, "unpinned": 0, "pruned": 0}
    breaks: list[Finding] = []
    notes: list[Finding] = []
    for stream in bundle["streams"]:
        pins = [p for p in bundle["keys"].get(stream["device"], []) if p.get("key")]
        since = min((p["pinned_at"] for p in pins), default=None)  # events received before it were not held to it
        _check_stream(stream, [p["key"] for p in pins], since, totals, breaks, notes)
    for row in bundle.get("uncounted", []):
        breaks.append(Finding("?", "?", None, "altered", f"rating {row['id']} of window {row['window']} at "
                                                        f"{row['at']} is counted but no stored event backs it"))
    return Checked(totals["events"], totals["signed"], totals["unpinned"], totals["pruned"], breaks, notes)


def _check_stream(stream: Mapping, keys: list[str], since: str | None, totals: dict, breaks: list,
                  notes: list) -> None:
    device, name = stream["device"], stream["stream"]
    events = {e["seq"]: e for e in stream["events"]}
    lost = stream.get("lost", [])
    rejected = {r["seq"]: r for r in stream.get("rejected", [])}
    before = stream.get("before")
    previous = (before["prev"], bytes.fromhex(before["digest"])) if before and before.get("prev") else None
    for seq in range(stream["from_seq"], stream["to_seq"] + 1):
        event = events.get(seq)
        if event is None:
            breaks.append(Finding(device, name, seq, "missing", _why_missing(seq, lost, rejected)))
            previous = None
            continue
        totals["events"] += 1
        held = keys if since is not None and event.get("received_at", "") >= since else []
        previous = _check_event(device, name, seq, event, previous, held, totals, breaks, notes)


def _why_missing(seq: int, lost: list, rejected: Mapping) -> str:
    for gap in lost:
        if gap["from_seq"] <= seq <= gap["to_seq"]:
            return (f"never received: the server declared seq {gap['from_seq']}..{gap['to_seq']} lost at "
                    f"{gap['declared_at']}")
    if seq in rejected:
        return f"rejected when it came at {rejected[seq]['at']}: {rejected[seq]['reason']}"
    return "not stored (deleted?)"


def _check_event(device: str, stream: str, seq: int, event: Mapping, previous, keys: list[str], totals: dict,
                 breaks: list, notes: list):
    """One stored event; returns its (prev, digest) for the next one, (None, None) when it is not chained."""
    def found(what: str, detail: str) -> None:
        breaks.append(Finding(device, stream, seq, what, detail))

    prev, content_digest = event.get("prev"), bytes.fromhex(event["digest"]) if event.get("digest") else None
    fields = json.loads(event["payload"]) if event.get("payload") else None
    if fields is None:
        totals["pruned"] += 1
        if prev is not None and content_digest is None:
            found("altered", "past retention without the digest of its content")
            return (None, None)
    else:
        if fields.get("seq") != seq:
            found("re-ordered", f"stored at seq {seq}, signed as seq {fields.get('seq')}")
        for name in ("id", "window", "type", "staff"):
            if fields.get(name) != event.get(name):
                found("altered", f"{name} stored as {event.get(name)!r}, signed {fields.get(name)!r}")
        if fields.get("stream") != stream:
            found("altered", f"stream stored as {stream!r}, signed {fields.get('stream')!r}")
        if fields.get("prev") is not None:
            signed_digest = digest(fields)
            if fields["prev"] != prev or content_digest is not None and content_digest != signed_digest:
                found("altered", "its stored chain fields differ from the signed event's")
            prev, content_digest = fields["prev"], signed_digest
        if keys:
            if fields.get("sig") is None:
                found("unsigned", f"device {device} has a pinned key, the event has no signature")
            elif not any(verify(key, fields) for key in keys):
                found("altered", "the signature does not verify with the device's pinned key")
            else:
                totals["signed"] += 1
        else:
            totals["unpinned"] += 1
        if event.get("type") == "rating":
            _check_rating(found, notes, device, stream, seq, event, fields)
    if prev is not None and previous is not None and previous[0] is not None:
        if prev != link(*previous):
            found("altered", f"its prev does not name the stored seq {seq - 1}")
    elif prev is not None and seq > 1 and prev == genesis(stream):
        notes.append(Finding(device, stream, seq, "new chain", "the chain begins here (the kiosk began signing in "
                                                               "the middle of its stream)"))
    return (prev, content_digest) if prev is not None else (None, None)


def _check_rating(found, notes: list, device: str, stream: str, seq: int, event: Mapping, fields: Mapping) -> None:
    row = event.get("counted")
    excluded = event.get("excluded")
    if row is None and excluded is not None:
        row = excluded
        notes.append(Finding(device, stream, seq, "excluded", f"rating {event['id']} taken out of the figures by "
                             f"{excluded['by']} at {excluded['at']} (appeal {excluded['appeal']}: "
                             f"{excluded['reason']})"))
    if row is None:
        found("missing", f"rating {event['id']} is stored as an event but not counted (its rating row is gone)")
        return
    for column, name in RATING_FIELDS.items():
        signed = fields.get(name)
        if name == "reasons":
            signed = signed or None
        if row.get(column) != signed:
            found("altered", f"rating {column} stored as {row.get(column)!r}, signed {signed!r}")


def main(argv: list[str] | None = None) -> int:
    """`python3 signing.py BUNDLE.json`: prints each note and break, then OK (exit 0) or FAILED (exit 1)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 signing.py BUNDLE.json", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as f:
            checked = check_bundle(json.load(f))
    except ImportError:
        print("signing.py: checking signatures needs the cryptography package (pip install cryptography)",
              file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"signing.py: cannot check {args[0]}: {exc!r}", file=sys.stderr)
        return 2
    lines, status = report(checked)
    print("\n".join(lines))
    return status


def report(checked: Checked) -> tuple[list[str], int]:
    """What a check prints: each note and break, then OK or FAILED; and its exit status (0 or 1)."""
    lines = [finding.line() for finding in [*checked.notes, *checked.breaks]]
    if checked.breaks:
        return [*lines, f"FAILED {len(checked.breaks)} breaks; {checked.summary()}"], 1
    return [*lines, f"OK {checked.summary()}"], 0


if __name__ == "__main__":
    raise SystemExit(main())
