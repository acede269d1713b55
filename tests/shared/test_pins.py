"""Clerks' PINs: 4 to 8 ASCII digits, kept only as PBKDF2 hashes that kiosks check offline."""
from __future__ import annotations

import pytest

from shared.pins import hash_pin, is_pin_hash, verify_pin


def test_a_pin_is_checked_against_its_hash():
    encoded = hash_pin("0815", iterations=1000)
    assert is_pin_hash(encoded) and "0815" not in encoded
    assert verify_pin("0815", encoded) and not verify_pin("0816", encoded)


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "١٢٣٤", "１２３４", " 1234"])
def test_only_4_to_8_ascii_digits_are_pins(pin):
    with pytest.raises(ValueError):
        hash_pin(pin, iterations=1000)
    assert not verify_pin(pin, hash_pin("1234", iterations=1000))
