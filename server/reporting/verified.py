"""Whether a staff number that events carried is one the roster vouches for, put on report rows.

A kiosk may send any staff number: it is stored as given and never creates a clerk (server/ingest/ingestor.py). Every
page, export and API row that shows such a number carries `verified` beside it: True when the number is a
clerk of the roster for the site of the window the events came from, False when not (shown "（未核实）"),
None where there is no number. The rule itself is Store.verified_staff; one query per list of rows. No Flask.
"""
from __future__ import annotations

from collections.abc import Iterable

from server.store import Store


def mark(store: Store, rows: list[dict], window: str = "window", staff: str = "staff",
         field: str = "verified") -> list[dict]:
    """Set row[field] beside each row's row[staff], as found at the row's row[window] (None: no window)."""
    found = store.reports.verified_staff((row.get(window), row[staff]) for row in rows if row.get(staff))
    for row in rows:
        row[field] = (row.get(window), row[staff]) in found if row.get(staff) else None
    return rows


def across(store: Store, seen: dict[str, Iterable[str | None]]) -> dict[str, bool]:
    """For figures that add up a staff number's events at several windows (`seen`: staff -> those windows):
    verified only when it is verified at every one of them; a number with no events, when it is a clerk
    of the roster at all."""
    where = {staff: set(windows) or {None} for staff, windows in seen.items()}
    found = store.reports.verified_staff((window, staff) for staff, windows in where.items() for window in windows)
    return {staff: all((window, staff) in found for window in windows) for staff, windows in where.items()}


def at_windows(store: Store, staff: str, windows: list[str]) -> tuple[bool, dict[str, bool]]:
    """One staff number across `windows` (as `across` has it) and at each of them, from one query."""
    found = store.reports.verified_staff([(None, staff), *((window, staff) for window in windows)])
    each = {window: (window, staff) in found for window in windows}
    return (all(each.values()) if each else (None, staff) in found), each
