"""Managers' passwords as salted scrypt hashes: `scrypt$N$r$p$SALT_HEX$HASH_HEX`."""
from __future__ import annotations

import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1
MIN_LENGTH = 8
MAX_LENGTH = 1024  # longer ones are refused unhashed: no one types them, and they cost time


def hash_password(password: str, salt: bytes | None = None) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected) // 2)
    except (ValueError, AttributeError):
        return False
    return hmac.compare_digest(digest.hex(), expected)
