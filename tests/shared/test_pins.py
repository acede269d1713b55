"""Clerks' PINs: 6 to 8 ASCII digits, kept only as scrypt hashes that kiosks check offline.

Old PBKDF2 hashes of 4 to 8 digits still verify (a clerk is not locked out by an upgrade) but are
not strong enough to be sent to a kiosk. The cost figures are in bench/pins.py.
"""
from __future__ import annotations

import hashlib

import pytest

from shared.pins import COST, PIN_PATTERN, ScryptCost, hash_pin, is_pin_hash, is_strong_pin_hash, verify_pin

NEW = hash_pin("081523")


def legacy_hash(pin: str, iterations: int = 100_000) -> str:
    """A hash as the first version made it."""
    salt = bytes(range(16))
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def cheap_scrypt(pin: str, ln: int) -> str:
    digest = hashlib.scrypt(pin.encode(), salt=bytes(16), n=1 << ln, r=8, p=1, dklen=32)
    return f"scrypt${ln}$8$1${bytes(16).hex()}${digest.hex()}"


def test_a_pin_is_checked_against_its_hash():
    assert is_pin_hash(NEW) and "081523" not in NEW
    assert verify_pin("081523", NEW) and not verify_pin("081524", NEW)
    assert NEW.startswith(f"scrypt${COST.ln}${COST.r}${COST.p}$")


def test_a_new_hash_is_memory_hard_enough_to_cost_a_cpu_day_per_clerk():
    """At least 32 MiB per guess (bench/pins.py: 0.13 s here, 1.5 CPU-days for 10**6 PINs); 4 minutes before."""
    assert COST.memory >= 32 * 2**20 and COST.strong and is_strong_pin_hash(NEW)
    assert not PIN_PATTERN.match("2468"), "10**4 PINs fall in minutes whatever the hash"


@pytest.mark.parametrize("pin", ["2468", "12345", "123456789", "12a456", "١٢٣٤٥٦", "１２３４５６", " 123456",
                                 "123456\n"])
def test_only_6_to_8_ascii_digits_are_new_pins(pin):
    with pytest.raises(ValueError, match="6 to 8 digits"):
        hash_pin(pin)
    assert not verify_pin(pin, NEW)


def test_old_pbkdf2_hashes_still_verify_but_are_not_strong():
    old = legacy_hash("2468")
    assert is_pin_hash(old) and verify_pin("2468", old) and not verify_pin("2469", old)
    assert not is_strong_pin_hash(old), "the server must not send it to kiosks"


def test_a_cheap_scrypt_hash_verifies_but_is_not_strong():
    cheap = cheap_scrypt("135790", 10)
    assert is_pin_hash(cheap) and verify_pin("135790", cheap)
    assert not is_strong_pin_hash(cheap)


@pytest.mark.parametrize("encoded", [
    "scrypt$24$8$1$" + "00" * 16 + "$" + "00" * 32,      # 2 GiB: a config cannot make a kiosk compute for ever
    "scrypt$15$64$1$" + "00" * 16 + "$" + "00" * 32,
    "scrypt$15$12$9$" + "00" * 16 + "$" + "00" * 32,
    "scrypt$15$12$1$" + "00" * 4 + "$" + "00" * 32,      # a salt too short
    legacy_hash("2468", iterations=9_000_000),           # 3 minutes of PBKDF2 on a Pi
    None, 5, "", "scrypt$15$12$1$zz$zz",
])
def test_hashes_out_of_bounds_are_refused_without_computing(encoded):
    assert not is_pin_hash(encoded) and not is_strong_pin_hash(encoded)
    assert not verify_pin("123456", encoded)


def test_parameters_within_bounds():
    assert ScryptCost(16, 12, 1).acceptable and not ScryptCost(17, 8, 1).acceptable, "up to twice the default memory"
    assert not ScryptCost(9, 8, 1).acceptable
