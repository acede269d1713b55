"""A real disk that fills up: a tmpfs of 1 MiB of the test's own (mounting needs root), and filling an outbox
until it cannot store."""
from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from device.core import NotStored
from device.outbox import Outbox


class SmallDisk:
    """A tmpfs of its own; `fill()` takes every free byte with a ballast file, `free()` gives them back."""

    def __init__(self, path: Path):
        self.path = path
        self.ballast = path / "ballast"

    def fill(self) -> None:
        chunk = b"\0" * 4096
        with open(self.ballast, "ab", buffering=0) as file:
            while True:
                try:
                    file.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    return

    def free(self) -> None:
        self.ballast.unlink()


@contextmanager
def small_disk_at(path: Path) -> Iterator[SmallDisk]:
    """Mount a tmpfs of 1 MiB at `path` (made here) for the block; fails where it cannot (not root)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True)
    assert mounted.returncode == 0, f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}"
    try:
        yield SmallDisk(path)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)  # still open: detach it now, freed when closed


def exhaust(outbox: Outbox) -> int:
    """Append until the outbox cannot (SQLite may still have room in its WAL after the disk filled)."""
    for stored in range(10_000):
        try:
            outbox.append(ts="2026-11-23T09:00:00.000+08:00", window="w03", type="presence", state="present")
        except NotStored:
            return stored
    raise AssertionError("the outbox never filled the disk")
