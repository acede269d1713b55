"""Customers served per window (参评率, server/domain/participation.py): counts and case numbers the window's
business or queueing system posts, and invites for a case number. A case number counts once per window."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from server.store.base import StoreBase, chunks, marks


class Served(NamedTuple):
    at: int               # epoch ms
    count: int            # customers: 1 for a case number
    case_no: str | None


class ServedQueries(StoreBase):
    def clerk_at(self, window: str, at: int, since: int) -> str | None:
        """The clerk on duty at the window at `at`, as the window's latest word on it after `since` says: its
        kiosk's last sign-in or sign-out (a `staff` event; nobody after a sign-out) or its last rating, whichever
        came later; None when there is neither."""
        found = [row for sql in ("SELECT at, staff FROM events WHERE window = ? AND type = 'staff' AND at > ? "
                                 "AND at <= ? ORDER BY at DESC LIMIT 1",
                                 "SELECT at, staff FROM ratings WHERE window = ? AND at > ? AND at <= ? "
                                 "ORDER BY at DESC LIMIT 1")
                 for row in self.db.execute(sql, (window, since, at)).fetchall()]
        return max(found, key=lambda row: row[0])[1] if found else None

    def add(self, window: str, entries: Sequence[Served], source: str, now: int, on_duty_ms: int) -> tuple[int, int]:
        """Record served customers, each with the clerk on duty at its time (`clerk_at`, looking back at most
        `on_duty_ms`); a case number the window has already counted is left out. Returns (customers added, case
        numbers already counted)."""
        added = duplicates = 0
        clerks: dict[int, str | None] = {}
        with self.writing():
            for e in entries:
                if e.at not in clerks:
                    clerks[e.at] = self.clerk_at(window, e.at, e.at - on_duty_ms)
                inserted = self.db.execute(
                    "INSERT INTO served (window, staff, at, count, case_no, source, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (window, case_no) WHERE case_no IS NOT NULL DO NOTHING",
                    (window, clerks[e.at], e.at, e.count, e.case_no, source, now)).rowcount
                added += e.count if inserted else 0
                duplicates += 0 if inserted else 1
        return added, duplicates

    def counts_of(self, windows: Sequence[str], start: int, end: int) -> dict[str, int]:
        """window -> customers served there with start <= at < end."""
        found: dict[str, int] = {}
        for chunk in chunks(list(windows)):
            found.update(self.db.execute(
                f"SELECT window, sum(count) FROM served WHERE window IN ({marks(len(chunk))}) AND at >= ? AND at < ? "
                "GROUP BY window", [*chunk, start, end]).fetchall())
        return found

    def counts_by_staff(self, start: int, end: int, windows: Sequence[str] | None = None) -> dict[str, int]:
        """staff -> customers served with start <= at < end (at `windows` only, when given), in one query; those
        with no known clerk are left out."""
        sql = "SELECT staff, sum(count) FROM served WHERE at >= ? AND at < ? AND staff IS NOT NULL"
        if windows is None:
            return dict(self.db.execute(sql + " GROUP BY staff", (start, end)).fetchall())
        found: dict[str, int] = {}
        for chunk in chunks(list(windows)):
            for staff, n in self.db.execute(sql + f" AND window IN ({marks(len(chunk))}) GROUP BY staff",
                                            [start, end, *chunk]):
                found[staff] = found.get(staff, 0) + n
        return found

    def staff_counts_by_window(self, staff: str, start: int, end: int,
                               windows: Sequence[str] | None = None) -> dict[str, int]:
        """window -> customers the clerk served there with start <= at < end (only `windows` when given)."""
        rows = self.db.execute("SELECT window, sum(count) FROM served WHERE staff = ? AND at >= ? AND at < ? "
                               "GROUP BY window", (staff, start, end)).fetchall()
        return {w: n for w, n in rows if windows is None or w in windows}
