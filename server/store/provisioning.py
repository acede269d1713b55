"""Provisioning's own query: a revoked kiosk is no longer confirmed and no longer any window's kiosk.

Registering and moving a kiosk are RegistryQueries.assign_device (the same for `ceval device add` and the
registry page). Past ratings, comments and absences keep the window they were given at.
"""
from __future__ import annotations

from .base import StoreBase


class ProvisionQueries(StoreBase):
    def revoke_device(self, device: str) -> bool:
        """Unconfirm a device and free the window it served; False when the database does not know it."""
        with self.db.atomic():
            found = self.db.execute("UPDATE devices SET confirmed = 0 WHERE device = ?", (device,)).rowcount == 1
            self.db.execute("UPDATE windows SET device = NULL WHERE device = ?", (device,))
        return found
