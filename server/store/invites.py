"""Invites of a rating for a case number, waiting for the collector to send them to a kiosk."""
from __future__ import annotations

from server.store.base import StoreBase


class InviteQueries(StoreBase):
    def window_kiosk(self, window: str) -> str | None:
        """The confirmed kiosk at `window`: the one the window names, else the one seen last."""
        row = self.db.execute(
            "SELECT d.device FROM devices d WHERE d.window = ? AND d.confirmed = 1 "
            "ORDER BY d.device = (SELECT w.device FROM windows w WHERE w.window = d.window) DESC, "
            "d.last_seen DESC, d.device LIMIT 1", (window,)).fetchone()
        return row[0] if row else None

    def create_invite(self, window: str, case_no: str, device: str, now: int, expires_at: int,
                      requested_by: str | None) -> int:
        """A new invite for the collector to send to `device`; returns its id."""
        return self.db.execute(
            "INSERT INTO invites (window, case_no, created_at, expires_at, requested_by, device) "
            "VALUES (?, ?, ?, ?, ?, ?)", (window, case_no, now, expires_at, requested_by, device)).lastrowid

    def due_invites(self, now: int, since: int) -> list[tuple[int, str, str, int]]:
        """(id, device, case_no, expires_at) of the invites made after `since`, not yet sent nor expired, whose
        kiosk is online, oldest first. `since` (no invite lives longer) keeps the index range short however
        many expired unsent invites there are."""
        return self.db.execute(
            "SELECT i.id, i.device, i.case_no, i.expires_at FROM invites i JOIN devices d ON d.device = i.device "
            "WHERE i.sent_at IS NULL AND i.created_at > ? AND i.expires_at > ? AND d.online = 1 ORDER BY i.id",
            (since, now)).fetchall()

    def mark_invite_sent(self, invite_id: int, at: int) -> None:
        self.db.execute("UPDATE invites SET sent_at = ? WHERE id = ? AND sent_at IS NULL", (at, invite_id))

    def invite(self, invite_id: int) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM invites WHERE id = ?", [invite_id])), None)
