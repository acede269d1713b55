"""Bad-review follow-up cases, their audit trail, and the working-day calendar's corrections.

A case's `opened_at` is the time the rating was given (its deadline counts from that local day);
its audit trail (`case_log`) records when the server did each thing and who did it.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from server.store.base import StoreBase, marks

log = logging.getLogger(__name__)

SYSTEM = "system"  # who opened a case, in its audit trail


class CaseQueries(StoreBase):
    # ------------------------------------------------------------ the calendar's corrections
    def corrections(self, year: int | None = None) -> list[dict]:
        """The admin's corrections to the calendar (day, kind, name), of one year or all."""
        if year is None:
            return list(self.db.query("SELECT day, kind, name FROM holidays ORDER BY day"))
        return list(self.db.query("SELECT day, kind, name FROM holidays WHERE day LIKE ? ORDER BY day",
                                  [f"{year:04d}-%"]))

    def save_corrections(self, corrections: Iterable) -> int:
        """Add or replace corrections (server/domain/workdays.py Correction: one per day), in one transaction."""
        rows = [(c.day.isoformat(), c.kind, c.name or None) for c in corrections]
        with self.writing():
            self._executemany("INSERT INTO holidays (day, kind, name) VALUES (?, ?, ?) ON CONFLICT (day) "
                              "DO UPDATE SET kind = excluded.kind, name = excluded.name", rows)
        return len(rows)

    def remove_correction(self, day: date) -> bool:
        return self.db.execute("DELETE FROM holidays WHERE day = ?", (day.isoformat(),)).rowcount == 1

    def window_zones(self, windows: Iterable[str], default_zone: str) -> dict[str, str]:
        """window -> the time zone of its site (`default_zone` for a window in no site)."""
        names = sorted(set(windows))
        zones = {w: default_zone for w in names}
        if names:
            zones.update((w, tz) for w, tz in self.db.execute(
                f"SELECT w.window, s.timezone FROM windows w JOIN sites s ON s.site = w.site "
                f"WHERE w.window IN ({marks(len(names))})", names).fetchall())
        return zones

    def case_zones(self, default_zone: str) -> list[str]:
        """Every time zone a case's deadline may be counted in."""
        return sorted({default_zone, *(r[0] for r in self.db.execute("SELECT DISTINCT timezone FROM sites"))})

    # ------------------------------------------------------------ opening
    def insert_cases(self, rows: Sequence[tuple], details: Mapping[str, str], now: int) -> int:
        """Open the cases of `rows` (rating_id, window, staff, score, scale, case_no, opened_at, due_date), none for a
        rating that has one, each logged as opened by the system with its `details` (JSON by rating id). Runs in the
        caller's transaction. Returns how many were opened."""
        conn = self.db.conn  # on the ingest path: sqlite3 itself, a statement per batch, not per case
        with self.writing():
            known = {r[0] for r in conn.execute("SELECT rating_id FROM cases WHERE rating_id IN "
                                                 "(SELECT value FROM json_each(?))", (json.dumps(list(details)),))}
            rows = [r for r in rows if r[0] not in known]
            conn.executemany(
                "INSERT INTO cases (rating_id, window, staff, score, scale, case_no, opened_at, due_date) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rating_id) DO NOTHING", rows)
            opened = conn.execute("SELECT id, rating_id FROM cases WHERE rating_id IN (SELECT value FROM json_each(?))",
                                  (json.dumps([r[0] for r in rows]),)).fetchall()
            conn.executemany("INSERT INTO case_log (case_id, at, user, action, detail) VALUES (?, ?, ?, ?, ?)",
                             [(case_id, now, SYSTEM, "opened", details[rating_id]) for case_id, rating_id in opened])
        return len(opened)

    # ------------------------------------------------------------ reading
    @staticmethod
    def _joined(default_zone: str, todays: Mapping[str, str]) -> tuple[str, list]:
        """Cases with their window, clerk and site, and `overdue`: still open after the due date of the
        site's today (`todays`: zone -> local ISO date)."""
        zone = "coalesce(s.timezone, ?)"
        today = f"CASE {zone}" + " WHEN ? THEN ?" * len(todays) + " END"
        sql = (f"SELECT c.*, w.title, w.site, {zone} AS timezone, st.name AS staff_name, "
               f"(c.status = 'open' AND c.due_date < {today}) AS overdue "
               "FROM cases c LEFT JOIN windows w ON w.window = c.window LEFT JOIN sites s ON s.site = w.site "
               "LEFT JOIN staff st ON st.staff = c.staff")
        return sql, [default_zone, default_zone, *(v for pair in todays.items() for v in pair)]

    def cases(self, default_zone: str, todays: Mapping[str, str], windows: list[str] | None = None,
              status: str = "all", window: str = "", staff: str = "", start: int | None = None,
              end: int | None = None, limit: int = 1000) -> list[dict]:
        """Cases, newest first, filtered: status open/closed/overdue/all, window, clerk, opened in [start, end)."""
        sql, params = self._joined(default_zone, todays)
        where, more = _filters(windows, window, staff, start, end)
        sql = f"SELECT * FROM ({sql}) WHERE 1 = 1{where}"
        if status in ("open", "closed"):
            sql += " AND status = ?"
            more.append(status)
        elif status == "overdue":
            sql += " AND overdue"
        return list(self.db.query(sql + " ORDER BY overdue DESC, opened_at DESC, id DESC LIMIT ?",
                                  [*params, *more, limit]))

    def case_counts(self, by: str, default_zone: str, todays: Mapping[str, str], windows: list[str] | None = None,
                    start: int | None = None, end: int | None = None) -> list[dict]:
        """Per window or clerk: open and overdue cases, and all cases, of cases opened in [start, end), and
        `windows`: the windows they are of."""
        if by not in ("window", "staff"):
            raise ValueError(f"cannot count by {by!r}")
        sql, params = self._joined(default_zone, todays)
        where, more = _filters(windows, "", "", start, end)
        label = "max(title)" if by == "window" else "max(staff_name)"
        return [{**row, "windows": json.loads(row["windows"])} for row in self.db.query(
            f"SELECT {by} AS key, {label} AS label, json_group_array(DISTINCT window) AS windows, count(*) AS total, "
            "sum(status = 'open') AS open, "
            f"sum(overdue) AS overdue FROM ({sql}) WHERE 1 = 1{where} GROUP BY {by} "
            "HAVING sum(status = 'open') > 0 ORDER BY sum(overdue) DESC, sum(status = 'open') DESC, key",
            [*params, *more])]

    def case(self, case_id: int, default_zone: str, todays: Mapping[str, str]) -> dict | None:
        """One case with its rating's reasons and the comment the customer left on it, if any."""
        sql, params = self._joined(default_zone, todays)
        row = next(iter(self.db.query(f"SELECT * FROM ({sql}) WHERE id = ?", [*params, case_id])), None)
        if row is None:
            return None
        rating = self.db.execute("SELECT reasons FROM ratings WHERE event_id = ?", (row["rating_id"],)).fetchone()
        row["reasons"] = json.loads(rating[0]) if rating and rating[0] else []
        row["comments"] = list(self.db.query(
            "SELECT text, at, channel FROM feedback WHERE rating_id = ? ORDER BY at", [row["rating_id"]]))
        return row

    def case_log(self, case_id: int) -> list[dict]:
        return list(self.db.query("SELECT at, user, action, detail FROM case_log WHERE case_id = ? ORDER BY at, id",
                                  [case_id]))

    # ------------------------------------------------------------ the workflow, each step audited
    def _log(self, case_id: int, at: int, user: str, action: str, detail: str | None = None) -> None:
        self.db.execute("INSERT INTO case_log (case_id, at, user, action, detail) VALUES (?, ?, ?, ?, ?)",
                        (case_id, at, user, action, detail))

    def apply(self, case_id: int, check: Callable[[dict], str], logged_as: str, user: str, now: int,
              detail: str | None = None, changes: Mapping[str, object] = {}) -> bool:
        """One step of a case in one transaction: `check(row)` gives the case's status after it (or raises, and
        nothing changes), then `changes` are set and the step is logged as `logged_as`. False when there is no
        such case."""
        with self.writing():
            row = next(iter(self.db.query("SELECT * FROM cases WHERE id = ?", [case_id])), None)
            if row is None:
                return False
            changes = {**changes, "status": check(row)}
            self.db.execute(f"UPDATE cases SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                            [*changes.values(), case_id])
            self._log(case_id, now, user, logged_as, detail)
        return True

    def reschedule_open_cases(self, calendar, user: str, now: int) -> int:
        """After the calendar changed (server/domain/workdays.py Calendar): recount each open case's due date from
        the day and the number of working days it was opened with; each moved date is logged. Returns how many
        moved."""
        moved = 0
        with self.writing():
            rows = self.db.execute(
                "SELECT c.id, c.due_date, l.detail FROM cases c JOIN case_log l ON l.case_id = c.id "
                "AND l.action = 'opened' WHERE c.status = 'open'").fetchall()
            for case_id, due, detail in rows:
                opened = json.loads(detail or "{}")
                if "from" not in opened or "days" not in opened:
                    continue
                new = calendar.add_working_days(date.fromisoformat(opened["from"]), int(opened["days"])).isoformat()
                if new != due:
                    self.db.execute("UPDATE cases SET due_date = ? WHERE id = ?", (new, case_id))
                    self._log(case_id, now, user, "rescheduled", json.dumps({"from": due, "to": new}))
                    moved += 1
        return moved


def _filters(windows: list[str] | None, window: str, staff: str, start: int | None,
             end: int | None) -> tuple[str, list]:
    where, params = "", []
    if windows is not None:
        where += f" AND window IN ({marks(len(windows))})" if windows else " AND 0"
        params += windows
    if window:
        where += " AND window = ?"
        params.append(window)
    if staff:
        where += " AND staff = ?"
        params.append(staff)
    if start is not None:
        where += " AND opened_at >= ?"
        params.append(start)
    if end is not None:
        where += " AND opened_at < ?"
        params.append(end)
    return where, params
