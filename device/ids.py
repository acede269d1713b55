"""Event ids (ULIDs: time-ordered, 26 characters) and stream ids."""
from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_event_id() -> str:
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    return _base32(millis, 10) + _base32(int.from_bytes(os.urandom(10), "big"), 16)


def new_stream_id() -> str:
    """16 lowercase characters: a fresh outbox names itself with one."""
    return _base32(int.from_bytes(os.urandom(10), "big"), 16).lower()
