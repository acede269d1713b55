"""Clerk PINs as salted PBKDF2 hashes: the server makes them, the kiosk checks them offline.

Encoded as `pbkdf2_sha256$ITERATIONS$SALT_HEX$HASH_HEX`.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re

ITERATIONS = 100_000
PIN_PATTERN = re.compile(r"^[0-9]{4,8}\Z")  # ASCII digits only: \d would take ١٢٣٤ too
_ENCODED = re.compile(r"^pbkdf2_sha256\$([0-9]{1,7})\$([0-9a-f]{16,64})\$([0-9a-f]{64})\Z")


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    if not PIN_PATTERN.match(pin):
        raise ValueError("a PIN is 4 to 8 digits")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def is_pin_hash(encoded: str) -> bool:
    return isinstance(encoded, str) and bool(_ENCODED.match(encoded))


def verify_pin(pin: str, encoded: str) -> bool:
    match = _ENCODED.match(encoded or "")
    if not match or not PIN_PATTERN.match(pin or ""):
        return False
    iterations, salt, expected = int(match[1]), bytes.fromhex(match[2]), match[3]
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations).hex()
    return hmac.compare_digest(digest, expected)
