"""Kiosks' signing keys: what each reported, and what admins pinned (shared/signing.py, docs/audit.md)."""
from __future__ import annotations

from typing import NamedTuple

from server.store.base import StoreBase
from shared.signing import fingerprint


class Pin(NamedTuple):
    fingerprint: str
    key: str | None  # None until the kiosk reported the key with this fingerprint
    pinned_at: int
    pinned_by: str
    unpinned_at: int | None


class KeyQueries(StoreBase):
    def reported(self, device: str, key: str) -> None:
        """A status named `key`: kept as the device's, and filled into its open pin when it is the pinned one."""
        self.db.execute("UPDATE devices SET key = ? WHERE device = ? AND key IS NOT ?", (key, device, key))
        self.db.execute("UPDATE device_pins SET key = ? WHERE device = ? AND unpinned_at IS NULL AND key IS NULL "
                        "AND fingerprint = ?", (key, device, fingerprint(key)))

    def reported_key(self, device: str) -> str | None:
        row = self.db.execute("SELECT key FROM devices WHERE device = ?", (device,)).fetchone()
        return row[0] if row else None

    def pin(self, device: str, fingerprint_: str, by: str, now: int) -> bool:
        """Pin a fingerprint for the device (the open pin of another closes); False if it is pinned already."""
        current = self.pinned(device)
        if current is not None and current.fingerprint == fingerprint_:
            return False
        reported = self.reported_key(device)
        key = reported if reported and fingerprint(reported) == fingerprint_ else None
        with self.writing():
            self.db.execute("UPDATE device_pins SET unpinned_at = ? WHERE device = ? AND unpinned_at IS NULL",
                            (now, device))
            self.db.execute("INSERT INTO device_pins (device, fingerprint, key, pinned_at, pinned_by) "
                            "VALUES (?, ?, ?, ?, ?)", (device, fingerprint_, key, now, by))
        return True

    def pinned(self, device: str) -> Pin | None:
        row = self.db.execute("SELECT fingerprint, key, pinned_at, pinned_by, unpinned_at FROM device_pins "
                              "WHERE device = ? AND unpinned_at IS NULL", (device,)).fetchone()
        return Pin(*row) if row else None

    def pins(self, device: str) -> list[Pin]:
        """Every key ever pinned for the device, oldest first."""
        return [Pin(*r) for r in self.db.execute(
            "SELECT fingerprint, key, pinned_at, pinned_by, unpinned_at FROM device_pins WHERE device = ? "
            "ORDER BY id", (device,))]
