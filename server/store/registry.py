"""Sites, windows in sites, devices assigned to windows, the clerk roster.

History is never rewritten here: ratings, comments and absences carry their own window and
clerk, so moving a device or deactivating a clerk changes only what happens from now on.
"""
from __future__ import annotations

from sqlite_utils import Database

from server.store.accounts import new_session_token
from server.store.base import StoreBase, flag, in_sites, marks, paged
from server.store.ingest import IngestQueries
from shared.contract import default_title
from shared.pins import is_strong_pin_hash

# A device's window (SQL over `devices d`): the one it was assigned to or named in its status, else the lowest
# window whose row names it as its kiosk (windows_device, migration m028, finds those).
DEVICE_WINDOW = "coalesce(d.window, (SELECT min(n.window) FROM windows n WHERE n.device = d.device))"


class RegistryQueries(StoreBase):
    def __init__(self, db: Database, ingest: IngestQueries):
        super().__init__(db)
        self.ingest = ingest

    # ------------------------------------------------------------ sites (halls)
    def sites(self, only: list[str] | None = None) -> list[dict]:
        """Every site with how many windows and active clerks it has; only those of `only` when given."""
        sql = ("SELECT s.site, s.name, s.timezone, s.hours, s.public, "
               "(SELECT count(*) FROM windows w WHERE w.site = s.site) AS windows, "
               "(SELECT count(*) FROM staff c WHERE c.site = s.site AND c.active) AS clerks FROM sites s")
        params: list = []
        if only is not None:
            sql += f" WHERE s.site IN ({marks(len(only))})"
            params = list(only)
        return list(self.db.query(sql + " ORDER BY s.site", params))

    def site(self, site: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM sites WHERE site = ?", [site])), None)

    def create_site(self, site: str, name: str, timezone: str, hours: str, public: bool) -> None:
        """A new site; `hours` is server.domain.hours.dumps() JSON. A taken id raises sqlite3.IntegrityError."""
        self.db.execute("INSERT INTO sites (site, name, timezone, hours, public) VALUES (?, ?, ?, ?, ?)",
                        (site, name, timezone, hours, int(public)))

    def update_site(self, site: str, name: str, timezone: str, hours: str, public: bool) -> bool:
        """Change a site's name, time zone, hours and board opt-in; False when there is no such site."""
        return self.db.execute("UPDATE sites SET name = ?, timezone = ?, hours = ?, public = ? WHERE site = ?",
                               (name, timezone, hours, int(public), site)).rowcount == 1

    # ------------------------------------------------------------ windows
    def create_window(self, window: str, title: str | None, site: str | None) -> None:
        """A window named before its kiosk reports; a taken id raises sqlite3.IntegrityError."""
        self.db.execute("INSERT INTO windows (window, title, site) VALUES (?, ?, ?)",
                        (window, title or default_title(window), site))

    def update_window(self, window: str, title: str, site: str | None, clerk: str | None = None) -> bool:
        return self.db.execute("UPDATE windows SET title = ?, site = ?, clerk = ? WHERE window = ?",
                               (title, site, clerk, window)).rowcount == 1

    # ------------------------------------------------------------ devices
    def devices(self, sites: list[str | None] | None = None, confirmed: bool | None = None,
                limit: int | None = None, offset: int = 0) -> list[dict]:
        """Every device, unconfirmed first, with its window and that window's title. Its window is the one
        it was assigned to or reported in its status, else the one its events named. Only those whose window
        is in `sites` when given (None in it: a window in no site, or no window), only the `confirmed` or
        unconfirmed ones when given, and `limit` of them from `offset` on when given."""
        sql = (f"SELECT d.device, {DEVICE_WINDOW} AS window, w.title, d.confirmed, d.online, d.version, "
               f"d.first_seen, d.last_seen, d.heard, d.rejected, d.storage, d.storage_since, d.ignored_acks, "
               f"d.ignored_upto_seq, d.ignored_ack_at, d.key, p.fingerprint AS pinned, p.pinned_at, p.pinned_by "
               f"FROM devices d LEFT JOIN windows w ON w.window = {DEVICE_WINDOW} "
               "LEFT JOIN device_pins p ON p.device = d.device AND p.unpinned_at IS NULL")
        where, params = in_sites(sites, "w.site", *flag("d.confirmed", confirmed))
        return list(self.db.query(*paged(sql + where + " ORDER BY d.confirmed, d.device", params, limit, offset)))

    def device_count(self, sites: list[str | None] | None = None, confirmed: bool | None = None) -> int:
        """How many devices `devices(sites, confirmed)` lists."""
        where, params = in_sites(sites, "w.site", *flag("d.confirmed", confirmed))
        return self.db.execute(f"SELECT count(*) FROM devices d LEFT JOIN windows w ON w.window = "
                               f"{DEVICE_WINDOW}{where}", params).fetchone()[0]

    def device(self, device: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM devices WHERE device = ?", [device])), None)

    def assign_device(self, device: str, window: str | None, now: int) -> None:
        """Confirm a device and make it the one kiosk of `window` (by default the window it reported).

        The same way as `ceval device add` (register_device); besides, the window it leaves no
        longer names it, and a device that served the new window before is unassigned. Past
        ratings stay with the window they were given at.
        """
        with self.writing():
            if window is None:
                window = self.db.execute(f"SELECT {DEVICE_WINDOW} FROM devices d WHERE d.device = ?",
                                         (device,)).fetchone()[0]
            if window:
                self.db.execute("UPDATE windows SET device = NULL WHERE device = ? AND window != ?",
                                (device, window))
                displaced = [r[0] for r in self.db.execute(
                    "SELECT device FROM devices WHERE window = ? AND device != ?", (window, device)).fetchall()]
                self.db.execute("UPDATE devices SET window = NULL WHERE window = ? AND device != ?",
                                (window, device))
                self.ingest.end_assignments(displaced, now)  # from now on they speak for no window
            self.ingest.register_device(device, window, now)  # and this one for `window` (its assignment history)

    # ------------------------------------------------------------ the clerk roster
    def clerks(self, sites: list[str | None] | None = None, limit: int | None = None, offset: int = 0,
               active: bool | None = None) -> list[dict]:
        """Every clerk, deactivated ones too, with their site's name, active first; only those of `sites` when
        given (None in it: a clerk of no site), only the `active` (or inactive) ones when given, `limit` of them
        from `offset` on when given. `pin_reset`: a PIN hash too weak to be sent to kiosks (of the 4-digit era)."""
        sql = ("SELECT c.staff, c.name, c.site, s.name AS site_name, c.active, c.pin_hash IS NOT NULL AS has_pin, "
               "c.pin_hash FROM staff c LEFT JOIN sites s ON s.site = c.site")
        where, params = in_sites(sites, "c.site", *flag("c.active", active))
        rows = list(self.db.query(*paged(sql + where + " ORDER BY c.active DESC, c.staff", params, limit, offset)))
        for row in rows:
            pin_hash = row.pop("pin_hash")  # the hash itself stays here
            row["pin_reset"] = bool(row["has_pin"]) and not is_strong_pin_hash(pin_hash)
        return rows

    def clerk_count(self, sites: list[str | None] | None = None, active: bool | None = None) -> int:
        """How many clerks `clerks(sites, active=active)` lists."""
        where, params = in_sites(sites, "c.site", *flag("c.active", active))
        return self.db.execute(f"SELECT count(*) FROM staff c{where}", params).fetchone()[0]

    def clerk(self, staff: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM staff WHERE staff = ?", [staff])), None)

    def create_clerk(self, staff: str, name: str, site: str | None, pin_hash: str | None) -> None:
        """A taken staff number raises sqlite3.IntegrityError."""
        self.db.execute("INSERT INTO staff (staff, name, site, pin_hash, active) VALUES (?, ?, ?, ?, 1)",
                        (staff, name, site, pin_hash))

    def update_clerk(self, staff: str, name: str, site: str | None, active: bool) -> bool:
        """Deactivating keeps the row: ratings and absences keep naming the clerk."""
        return self.db.execute("UPDATE staff SET name = ?, site = ?, active = ? WHERE staff = ?",
                               (name, site, int(active), staff)).rowcount == 1

    def set_pin(self, staff: str, pin_hash: str) -> bool:
        """A new PIN also ends the clerk's web sessions."""
        return self.db.execute("UPDATE staff SET pin_hash = ?, session_token = ? WHERE staff = ?",
                               (pin_hash, new_session_token(), staff)).rowcount == 1

    def end_clerk_sessions(self, staff: str) -> str:
        """A new session token for the clerk: every web session they had ends. Returns it."""
        token = new_session_token()
        self.db.execute("UPDATE staff SET session_token = ? WHERE staff = ?", (token, staff))
        return token

    # ------------------------------------------------------------ a window's kiosk settings (server/web/views/window_kiosk.py)
    def update_window_kiosk(self, window: str, title: str, clerk: str | None, config: str) -> bool:
        """Set what the window's kiosk shows: title, assigned clerk and its other settings (`config`, JSON of
        server.domain.kiosk_config.SETTINGS); the collector publishes them. False when there is no such window."""
        return self.db.execute("UPDATE windows SET title = ?, clerk = ?, config = ? WHERE window = ?",
                               (title, clerk, config, window)).rowcount == 1
