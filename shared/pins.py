"""Clerk PINs: the server hashes them, the kiosk checks them offline against the roster in its config.

A kiosk's config (and so every PIN hash of its site) is readable by anyone who holds the kiosk,
so a hash must make guessing expensive. New PINs are 6 to 8 ASCII digits, hashed with scrypt
(hashlib, memory-hard) and encoded as `scrypt$LN$R$P$SALT_HEX$HASH_HEX` (N = 2**LN).

Measured with `python -m bench.pins` on the development machine (x86-64, one core, CPython
3.11, OpenSSL 3; three runs): one verify with N=2**15, r=12, p=1 (48 MiB) takes 0.13 to 0.14 s,
so trying every 6-digit PIN of one clerk costs 1.5 to 1.65 CPU-days (8 digits: about 150
CPU-days), against 4 minutes for a 4-digit PIN under the old PBKDF2 hashes (23 ms each). A
Raspberry Pi 4 is roughly 3 to 5 times slower per core: a sign-in there takes about 0.4 to 0.7 s,
under the second a clerk can wait. (N=2**16, r=8 took 0.18 to 0.28 s here: too close to a second
on a Pi; N=2**15, r=8 took 0.1 s: too close to a CPU-day.)
The kiosk checks only PINs of the right length, and only hashes with bounded parameters, so a
config cannot make it compute for long.

Hashes of the first version, `pbkdf2_sha256$ITERATIONS$SALT_HEX$HASH_HEX` of 4 to 8 digits,
still verify on a kiosk (no clerk is locked out by an upgrade), but the server no longer sends
them (`is_strong_pin_hash`): such a clerk needs a new PIN.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass

PIN_MIN, PIN_MAX = 6, 8
PIN_PATTERN = re.compile(rf"^[0-9]{{{PIN_MIN},{PIN_MAX}}}\Z")  # ASCII digits only: \d would take ١٢٣٤ too
_LEGACY_PIN = re.compile(r"^[0-9]{4,8}\Z")  # what the first version's hashes were made of

_SCRYPT = re.compile(r"^scrypt\$([0-9]{1,2})\$([0-9]{1,2})\$([0-9])\$([0-9a-f]{32,64})\$([0-9a-f]{64})\Z")
_LEGACY = re.compile(r"^pbkdf2_sha256\$([0-9]{1,7})\$([0-9a-f]{16,64})\$([0-9a-f]{64})\Z")
LEGACY_MAX_ITERATIONS = 600_000  # the first version used 100,000; more would stall a kiosk's sign-in


@dataclass(frozen=True)
class ScryptCost:
    ln: int = 15  # N = 2**ln
    r: int = 12
    p: int = 1

    @property
    def memory(self) -> int:
        """Bytes scrypt needs: 128 * r * N."""
        return 128 * self.r * (1 << self.ln)

    @property
    def acceptable(self) -> bool:
        """Parameters a kiosk computes: at most twice the default's memory and time, at least a sane floor."""
        return (10 <= self.ln <= 17 and 1 <= self.r <= 16 and 1 <= self.p <= 2
                and self.memory * self.p <= 2 * COST.memory)

    @property
    def strong(self) -> bool:
        """At least the default's memory (and so its time): what the server may send to kiosks."""
        return self.acceptable and self.memory >= COST.memory


COST = ScryptCost()


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """The encoded scrypt hash of a new PIN (6 to 8 digits; ValueError otherwise)."""
    if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
        raise ValueError(f"a PIN is {PIN_MIN} to {PIN_MAX} digits")
    salt = salt or os.urandom(16)
    return f"scrypt${COST.ln}${COST.r}${COST.p}${salt.hex()}${_scrypt(pin, salt, COST).hex()}"


def _scrypt(pin: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=1 << cost.ln, r=cost.r, p=cost.p,
                          maxmem=cost.memory * cost.p + (1 << 20), dklen=32)


def _scrypt_cost(match: re.Match) -> ScryptCost:
    return ScryptCost(int(match[1]), int(match[2]), int(match[3]))


def is_pin_hash(encoded: object) -> bool:
    """Whether a kiosk can check PINs against `encoded` (either scheme, parameters within bounds)."""
    if not isinstance(encoded, str):
        return False
    match = _SCRYPT.match(encoded)
    if match:
        return _scrypt_cost(match).acceptable
    match = _LEGACY.match(encoded)
    return bool(match) and 1 <= int(match[1]) <= LEGACY_MAX_ITERATIONS


def is_strong_pin_hash(encoded: object) -> bool:
    """Whether the server may put `encoded` in a kiosk's roster: scrypt at the default cost or more."""
    match = _SCRYPT.match(encoded) if isinstance(encoded, str) else None
    return bool(match) and _scrypt_cost(match).strong


def verify_pin(pin: str, encoded: str) -> bool:
    """Whether `pin` is the PIN of `encoded` (either scheme); False for anything malformed."""
    if not isinstance(pin, str) or not is_pin_hash(encoded):
        return False
    match = _SCRYPT.match(encoded)
    if match:
        if not PIN_PATTERN.match(pin):
            return False
        digest = _scrypt(pin, bytes.fromhex(match[4]), _scrypt_cost(match))
        return hmac.compare_digest(digest.hex(), match[5])
    match = _LEGACY.match(encoded)
    if not _LEGACY_PIN.match(pin):
        return False
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(match[2]), int(match[1]))
    return hmac.compare_digest(digest.hex(), match[3])
