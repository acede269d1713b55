"""What faces the hall floor: the configs sent to kiosks and which were sent, comments
written on customers' phones, and the figures of the public lobby board."""
from __future__ import annotations

import json

from server.store.base import StoreBase

PHONE_DEVICE = "(phone)"  # events.device of a phone comment: never a valid device id


class KioskConfigQueries(StoreBase):
    # ------------------------------------------------------------ kiosk configs
    _TARGETS = ("SELECT d.device, d.window, w.title, w.site, c.staff, c.name, d.config_sent, d.config_sent_at, "
                "w.config FROM devices d JOIN windows w ON w.window = d.window "
                "LEFT JOIN staff c ON c.staff = w.clerk AND c.active = 1 WHERE d.confirmed = 1")

    def config_targets(self) -> list[tuple]:
        """(device, window, title, site, clerk, clerk's name, config_sent, config_sent_at, window's kiosk settings)
        of every confirmed device at a window; the window's assigned clerk only while active on the roster."""
        return self.db.execute(self._TARGETS + " ORDER BY d.device").fetchall()

    def config_target(self, window: str) -> tuple | None:
        """The config_targets row of the confirmed device at `window`; None when it has none."""
        return self.db.execute(self._TARGETS + " AND d.window = ? ORDER BY d.device", (window,)).fetchone()

    def site_roster(self, site: str) -> list[tuple]:
        """(staff, name, pin_hash) of one site's active clerks with a PIN, as site_rosters has them."""
        return self.db.execute(
            "SELECT staff, name, pin_hash FROM staff WHERE active = 1 AND pin_hash IS NOT NULL AND site = ? "
            "ORDER BY staff", (site,)).fetchall()

    def site_rosters(self) -> list[tuple]:
        """(site, staff, name, pin_hash) of the active clerks with a PIN, by site and staff number."""
        return self.db.execute(
            "SELECT site, staff, name, pin_hash FROM staff "
            "WHERE active = 1 AND pin_hash IS NOT NULL AND site IS NOT NULL ORDER BY site, staff").fetchall()

    def mark_configs_sent(self, sent: list[tuple[str, str, int]]) -> None:
        """(device, version, at) of configs the broker acknowledged, in one transaction: after a broker restart
        a city's thousands of kiosks are sent theirs at once."""
        with self.writing():
            self._executemany("UPDATE devices SET config_sent = ?, config_sent_at = ? WHERE device = ?",
                              [(version, at, device) for device, version, at in sent])

    # ------------------------------------------------------------ comments from phones
    def window_on_duty(self, window: str) -> tuple[str, str | None] | None:
        """(title, staff on duty) of a window; None when there is no such window."""
        return self.db.execute("SELECT title, staff FROM windows WHERE window = ?", (window,)).fetchone()

    def add_phone_comment(self, event_id: str, window: str, staff: str | None, text: str, ts: str, at: int) -> None:
        """A comment written on a phone: kept as an event of its own (feedback rows name their event)
        and as the window's feedback with channel 'phone'."""
        payload = json.dumps({"v": 1, "id": event_id, "ts": ts, "window": window, "staff": staff,
                              "type": "feedback", "text": text, "channel": "phone"}, ensure_ascii=False)
        with self.writing():
            self.db.execute(
                "INSERT INTO events (id, device, stream, seq, type, window, staff, ts, at, received_at, payload) "
                "VALUES (?, ?, ?, 1, 'feedback', ?, ?, ?, ?, ?, ?)",
                (event_id, PHONE_DEVICE, event_id, window, staff, ts, at, at, payload))
            self.db.execute(
                "INSERT INTO feedback (event_id, window, staff, at, text, rating_id, channel) "
                "VALUES (?, ?, ?, ?, ?, NULL, 'phone')", (event_id, window, staff, at, text))

    # ------------------------------------------------------------ the public lobby board
    def public_site(self, site: str) -> dict | None:
        """A site's row when it opted in to the public board, else None."""
        return next(iter(self.db.query("SELECT site, name FROM sites WHERE site = ? AND public = 1", [site])), None)

    def public_windows(self, site: str) -> list[dict]:
        """The site's windows with the clerk on duty: window, title, staff, staff_name."""
        return list(self.db.query(
            "SELECT w.window, w.title, w.staff, s.name AS staff_name FROM windows w "
            "LEFT JOIN staff s ON s.staff = w.staff WHERE w.site = ? ORDER BY w.window", [site]))
