"""Clerk PINs: what one verify costs a kiosk, and what exhausting a clerk's PINs costs an attacker.

Someone who takes a kiosk's config has every PIN hash of its site and can try PINs offline,
one verify per guess. This measures one verify (`shared.pins.verify_pin`, a wrong PIN, so the
whole hash is computed) at the default scrypt cost, and in the same run the first version's
PBKDF2 hash (100,000 rounds of SHA-256) as the baseline, on one core of this machine. From the
median it computes the CPU time to try every PIN of one clerk: 10**6 for 6 digits (the shortest
new PIN), 10**8 for 8, 10**4 for the old 4-digit PINs, and the time a sign-in would take on a
Raspberry Pi 4, taken as 3 to 5 times slower per core than this machine.

    python -m bench.pins [--runs 15]

Targets: at least 1 CPU-day for 10**6 guesses, under 1 s per sign-in on a Pi at 5x.
Human-readable lines first; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time

from shared.pins import COST, hash_pin, verify_pin

DAY = 86_400.0
PI_SLOWER = (3.0, 5.0)
LEGACY_ITERATIONS = 100_000  # what the first version's hashes used


def _legacy_hash(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, LEGACY_ITERATIONS)
    return f"pbkdf2_sha256${LEGACY_ITERATIONS}${salt.hex()}${digest.hex()}"


def _median_verify(encoded: str, wrong_pin: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        if verify_pin(wrong_pin, encoded):
            raise RuntimeError("a wrong PIN verified")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.pins", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="verifies per scheme (median taken)")
    args = parser.parse_args(argv)

    scrypt_s = _median_verify(hash_pin("24681357"), "24681358", args.runs)
    legacy_s = _median_verify(_legacy_hash("2468"), "2469", args.runs)
    figures = {
        "scheme": f"scrypt N=2**{COST.ln} r={COST.r} p={COST.p}",
        "memory_mib": COST.memory * COST.p / 2**20,
        "verify_s": round(scrypt_s, 4),
        "legacy_verify_s": round(legacy_s, 4),
        "cpu_days_6_digits": round(scrypt_s * 10**6 / DAY, 2),
        "cpu_days_8_digits": round(scrypt_s * 10**8 / DAY, 1),
        "legacy_minutes_4_digits": round(legacy_s * 10**4 / 60, 1),
        "pi4_verify_s": [round(scrypt_s * factor, 2) for factor in PI_SLOWER],
        "runs": args.runs,
    }
    print(f"{figures['scheme']} ({figures['memory_mib']:.0f} MiB): {scrypt_s * 1000:.0f} ms per verify here; "
          f"old PBKDF2 ({LEGACY_ITERATIONS} rounds): {legacy_s * 1000:.0f} ms")
    print(f"every PIN of one clerk: 6 digits {figures['cpu_days_6_digits']} CPU-days, "
          f"8 digits {figures['cpu_days_8_digits']} CPU-days; old 4 digits {figures['legacy_minutes_4_digits']} min")
    print(f"sign-in on a Pi 4 (3x to 5x slower): {figures['pi4_verify_s'][0]} to {figures['pi4_verify_s'][1]} s")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
