"""Signed, chained events (an extension of v1): what a kiosk signs, how its events chain, its key's fingerprint.

docs/protocol.md ("Signed, chained events") defines each step; docs/audit.md and tools/verify_bundle.py do
the same without this code, so an auditor needs neither the server nor its database.

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
from typing import Any

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
