"""Provisioning's own query: a revoked kiosk is no longer confirmed and no longer any window's kiosk, and
its assignment history (device_windows) ends when it is revoked.

Registering and moving a kiosk are RegistryQueries.assign_device (the same for `ceval device add` and the
registry page). Past ratings, comments and absences keep the window they were given at.
"""
from __future__ import annotations

from sqlite_utils import Database

from server.store.base import StoreBase
from server.store.ingest import IngestQueries


class ProvisionQueries(StoreBase):
    def __init__(self, db: Database, ingest: IngestQueries):
        super().__init__(db)
        self.ingest = ingest

    def revoke_device(self, device: str, now: int) -> bool:
        """Unconfirm a device, free the window it served and end its assignment at `now`: confirmed again,
        even at the same window, it speaks for it only from then on, so nothing it timed in between counts.
        False when the database does not know it."""
        with self.writing():
            found = self.db.execute("UPDATE devices SET confirmed = 0 WHERE device = ?", (device,)).rowcount == 1
            self.db.execute("UPDATE windows SET device = NULL WHERE device = ?", (device,))
            self.ingest.end_assignments([device], now)
        return found
