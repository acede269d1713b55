"""Customers served per window (参评率): posted counts and case numbers, and invites (server/domain/participation.py)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from server.store.base import StoreBase, chunks, marks


class Served(NamedTuple):
    at: int
    count: int
    case_no: str | None


class ServedQueries(StoreBase):
    def staff_at(self, window: str, at: int) -> str | None:
        """The clerk on duty at the window at `at`, as the window's last rating before then says."""
        row = self.db.execute("SELECT staff FROM ratings WHERE window = ? AND at <= ? ORDER BY at DESC LIMIT 1",
                              (window, at)).fetchone()
        return row[0] if row else None

    def add(self, window: str, entries: Sequence[Served], source: str, now: int,
            staff: str | None = None) -> tuple[int, int]:
        """Record served customers; a case number the window has already counted is left out. Returns (customers
        added, case numbers already counted). `staff`: the clerk for every entry, else found per entry."""
        added = duplicates = 0
        with self.writing():
            for e in entries:
                clerk = staff if staff is not None else self.staff_at(window, e.at)
                inserted = self.db.execute(
                    "INSERT INTO served (window, staff, at, count, case_no, source, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (window, case_no) WHERE case_no IS NOT NULL DO NOTHING",
                    (window, clerk, e.at, e.count, e.case_no, source, now)).rowcount
                added += e.count if inserted else 0
                duplicates += 0 if inserted else 1
        return added, duplicates

    def counts_of(self, windows: Sequence[str], start: int, end: int) -> dict[str, int]:
        """window -> customers served with start <= at < end."""
        found: dict[str, int] = {}
        for chunk in chunks(list(windows)):
            found.update(self.db.execute(
                f"SELECT window, sum(count) FROM served WHERE window IN ({marks(len(chunk))}) AND at >= ? AND at < ? "
                "GROUP BY window", [*chunk, start, end]).fetchall())
        return found

    def staff_counts_by_window(self, staff: str, start: int, end: int,
                               windows: Sequence[str] | None = None) -> dict[str, int]:
        """window -> customers the clerk served there with start <= at < end (only `windows` when given)."""
        rows = self.db.execute("SELECT window, sum(count) FROM served WHERE staff = ? AND at >= ? AND at < ? "
                               "GROUP BY window", (staff, start, end)).fetchall()
        return {w: n for w, n in rows if windows is None or w in windows}

    def clerk_counts_at(self, window: str, start: int, end: int) -> dict[str, int]:
        """staff -> customers served at the window with start <= at < end (those with no known clerk left out)."""
        return dict(self.db.execute("SELECT staff, sum(count) FROM served WHERE window = ? AND at >= ? AND at < ? "
                                    "AND staff IS NOT NULL GROUP BY staff", (window, start, end)).fetchall())
