"""Taking back a window created by mistake: removing it while nothing is stored under it, or merging it into
another window (everything stored under it moves there, but for what `target` already holds the same of: a case
number counted as served at both), each in one transaction with its admin_log entry.

Which rows belong to a window is found from the schema: every table with a `window` column holds the window's
data and moves with a merge, except the registry's own rows (the window itself, the devices that name it, their
assignment history) and the alerts, which stay as they were raised. A window with a confirmed kiosk is neither
removed nor merged: the kiosk goes to another window first, so no kiosk ever speaks for a window that is gone.
"""
from __future__ import annotations

from sqlite_utils import Database

from server.store.admin_log import AdminLogQueries
from server.store.base import StoreBase

REGISTRY = ("windows", "devices", "device_windows")
AS_RAISED = ("alerts",)


class WindowRefused(Exception):
    """A removal or merge that cannot be done: `reason` is one of missing, same, kiosk, sites, data;
    `values` says what was in the way."""

    def __init__(self, reason: str, **values):
        super().__init__(reason, values)
        self.reason = reason
        self.values = values


class WindowRemovalQueries(StoreBase):
    def __init__(self, db: Database, admin_log: AdminLogQueries):
        super().__init__(db)
        self.admin_log = admin_log

    def window_data_tables(self) -> list[str]:
        """The tables whose rows name a window and are its data (see the module's docstring)."""
        return sorted(t.name for t in self.db.tables
                      if "window" in t.columns_dict and t.name not in REGISTRY + AS_RAISED)

    def window_holdings(self, window: str) -> dict[str, int]:
        """How many rows each data table holds for `window`, for those that hold any."""
        counts = {table: self.db.execute(f"SELECT count(*) FROM [{table}] WHERE window = ?", (window,)).fetchone()[0]
                  for table in self.window_data_tables()}
        return {table: n for table, n in counts.items() if n}

    def _check(self, window: str) -> dict:
        row = self.db.execute("SELECT window, title, site, first_at FROM windows WHERE window = ?",
                              (window,)).fetchone()
        if row is None:
            raise WindowRefused("missing", window=window)
        kiosk = self.db.execute("SELECT device FROM devices WHERE window = ? AND confirmed = 1 ORDER BY device",
                                (window,)).fetchone()
        if kiosk is not None:
            raise WindowRefused("kiosk", window=window, device=kiosk[0])
        return dict(zip(("window", "title", "site", "first_at"), row))

    def _unlink(self, window: str) -> None:
        """The window's registry rows: unconfirmed devices that reported it name no window; the window goes."""
        self.db.execute("UPDATE devices SET window = NULL WHERE window = ?", (window,))
        self.db.execute("DELETE FROM windows WHERE window = ?", (window,))

    def remove_window(self, window: str, user: str, now: int) -> dict:
        """Delete a window nothing is stored under; WindowRefused otherwise. Returns the removed window's row."""
        with self.writing():
            row = self._check(window)
            held = self.window_holdings(window)
            if held:
                raise WindowRefused("data", window=window, held=held)
            self.db.execute("DELETE FROM device_windows WHERE window = ?", (window,))
            self._unlink(window)
            self.admin_log.log_admin(now, user, "window_removed", {"window": window, "title": row["title"], "site": row["site"]})
        return row

    def merge_window(self, source: str, target: str, user: str, now: int) -> dict[str, int]:
        """Move everything stored under `source` to `target` and delete `source`; WindowRefused when either is
        missing, they are the same, `source` has a confirmed kiosk, or they are in different sites (a window in
        no site merges into any). An absence still open at `source` ends now. Returns the rows moved per table."""
        if source == target:
            raise WindowRefused("same", window=source)
        with self.writing():
            row = self._check(source)
            into = self.db.execute("SELECT site FROM windows WHERE window = ?", (target,)).fetchone()
            if into is None:
                raise WindowRefused("missing", window=target)
            if row["site"] is not None and row["site"] != into[0]:
                raise WindowRefused("sites", window=source, site=row["site"], into=target, into_site=into[0])
            self.db.execute("UPDATE absences SET end_at = ? WHERE end_at IS NULL AND id = "
                            "(SELECT open_absence FROM windows WHERE window = ?)", (now, source))
            moved = {}
            for table in self.window_data_tables():
                n = self.db.execute(f"UPDATE OR IGNORE [{table}] SET window = ? WHERE window = ?",
                                    (target, source)).rowcount
                if n:
                    moved[table] = n
                # what stayed would repeat a row of `target` by the table's own unique rule (a case number served
                # at both windows: a window counts it once), so it goes
                self.db.execute(f"DELETE FROM [{table}] WHERE window = ?", (source,))
            self.db.execute("UPDATE device_windows SET window = ? WHERE window = ?", (target, source))
            if row["first_at"] is not None:
                self.db.execute("UPDATE windows SET first_at = min(coalesce(first_at, ?), ?) WHERE window = ?",
                                (row["first_at"], row["first_at"], target))
            self._unlink(source)
            self.admin_log.log_admin(now, user, "window_merged", {"window": source, "title": row["title"], "into": target,
                                                        "moved": moved})
        return moved
