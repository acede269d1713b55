"""Runs of the scheduled daily and monthly reports, with the files they made.

A run is claimed by inserting its (kind, period) row, which is UNIQUE: of two servers racing for the same
report only one gets the row. A failed run, or one left `running` by a server that died, is claimed back by a
conditional UPDATE, again by one of them only.

`emailed_to`: NULL while the e-mail is still to be sent (or retried); the addresses once sent; '' when the
report was not e-mailed (no SMTP, no recipients, or every try failed), with the reason in `error`.
"""
from __future__ import annotations

import json
from datetime import datetime

from server.store.base import StoreBase

_LISTED = ("id, kind, period, started_at, finished_at, status, emailed_to, error, "
           "length(content) AS size")


class ReportRunQueries(StoreBase):
    # ------------------------------------------------------------ claiming and finishing runs
    def claim_report_run(self, kind: str, period: str, now: int, stale_before: int,
                         retry: bool = True, remake: bool = False) -> int | None:
        """The run's id when this caller may make it now, else None: a new row; with `retry` a failed one;
        a `running` one begun before `stale_before` (its maker died); with `remake` also a done one."""
        inserted = self.db.execute(
            "INSERT INTO report_runs (kind, period, started_at, status) VALUES (?, ?, ?, 'running') "
            "ON CONFLICT (kind, period) DO NOTHING", (kind, period, now))
        if inserted.rowcount == 1:
            return inserted.lastrowid
        states = ["(status = 'running' AND started_at < :stale)"]
        if retry:
            states.append("status = 'failed'")
        if remake:
            states.append("status = 'done'")
        updated = self.db.execute(
            "UPDATE report_runs SET status = 'running', started_at = :now, finished_at = NULL, error = NULL "
            f"WHERE kind = :kind AND period = :period AND ({' OR '.join(states)})",
            {"now": now, "stale": stale_before, "kind": kind, "period": period})
        if updated.rowcount != 1:
            return None
        return self.db.execute("SELECT id FROM report_runs WHERE kind = ? AND period = ?", (kind, period)).fetchone()[0]

    def finish_report_run(self, run_id: int, now: int, content: bytes) -> None:
        """Done, with its file; its e-mail is (again) to be sent."""
        self.db.execute("UPDATE report_runs SET status = 'done', finished_at = ?, content = ?, emailed_to = NULL, "
                        "error = NULL WHERE id = ?", (now, content, run_id))

    def fail_report_run(self, run_id: int, now: int, error: str) -> None:
        self.db.execute("UPDATE report_runs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?",
                        (now, error, run_id))

    def record_report_mail(self, run_id: int, emailed_to: str | None, error: str | None) -> None:
        """Sent to `emailed_to`; '' for not e-mailed (with the reason); None to try again later."""
        self.db.execute("UPDATE report_runs SET emailed_to = ?, error = ? WHERE id = ?", (emailed_to, error, run_id))

    def claim_report_mail(self, run_id: int, key: str, now: int, since: int) -> bool:
        """Whether this caller is to send the run's e-mail now: still unsent, and not tried since `since`.
        The try is counted under `key` in the rate-limit table `attempts` in the same write transaction,
        so of two servers only one sends."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT status, emailed_to FROM report_runs WHERE id = ?", (run_id,)).fetchone()
            tried = conn.execute("SELECT 1 FROM attempts WHERE key = ? AND at >= ?", (key, since)).fetchone()
            free = row is not None and row[0] == "done" and row[1] is None and tried is None
            if free:
                conn.execute("INSERT INTO attempts (key, at) VALUES (?, ?)", (key, now))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        return free

    # ------------------------------------------------------------ reading runs
    def report_run(self, kind: str, period: str) -> dict | None:
        return next(iter(self.db.query(f"SELECT {_LISTED} FROM report_runs WHERE kind = ? AND period = ?",
                                       [kind, period])), None)

    def report_run_by_id(self, run_id: int) -> dict | None:
        return next(iter(self.db.query(f"SELECT {_LISTED} FROM report_runs WHERE id = ?", [run_id])), None)

    def report_runs(self, limit: int = 200) -> list[dict]:
        """The runs without their files, the latest period first (monthly before the daily of the same day)."""
        return list(self.db.query(f"SELECT {_LISTED} FROM report_runs ORDER BY period DESC, kind DESC LIMIT ?",
                                  [limit]))

    def report_run_content(self, run_id: int) -> bytes | None:
        row = self.db.execute("SELECT content FROM report_runs WHERE id = ? AND status = 'done'",
                              (run_id,)).fetchone()
        return row[0] if row else None

    def report_runs_to_mail(self) -> list[dict]:
        """Done runs whose e-mail is still to be sent, oldest first."""
        return list(self.db.query(f"SELECT {_LISTED} FROM report_runs WHERE status = 'done' AND emailed_to IS NULL "
                                  "ORDER BY finished_at, id"))

    def failed_report_runs(self) -> list[dict]:
        return list(self.db.query(f"SELECT {_LISTED} FROM report_runs WHERE status = 'failed' ORDER BY period, kind"))

    # ------------------------------------------------------------ what the reports need besides the summaries
    def first_known_at(self) -> int | None:
        """Since when the app knows of anything (ms): its first rating, or before any its installation
        (the first schema migration)."""
        first = self.db.execute(  # one index seek per window, not a scan of every rating
            "SELECT min((SELECT min(r.at) FROM ratings r WHERE r.window = w.window)) FROM windows w").fetchone()[0]
        if first is not None or not self.db["_sqlite_migrations"].exists():
            return first
        installed = self.db.execute("SELECT min(applied_at) FROM _sqlite_migrations").fetchone()[0]
        try:
            return int(datetime.fromisoformat(installed).timestamp() * 1000) if installed else None
        except ValueError:
            return None

    def staff_active_in(self, start: int, end: int, windows: list[str] | None = None) -> list[str]:
        """The clerks with a rating, an absence begun or a comment in [start, end) (at `windows`; None: any)."""
        where = "" if windows is None else " AND window IN (SELECT value FROM json_each(?3))"
        return [row[0] for row in self.db.execute(
            f"SELECT staff FROM ratings WHERE at >= ?1 AND at < ?2 AND staff IS NOT NULL{where} "
            f"UNION SELECT staff FROM absences WHERE start_at >= ?1 AND start_at < ?2 AND staff IS NOT NULL{where} "
            f"UNION SELECT staff FROM feedback WHERE at >= ?1 AND at < ?2 AND staff IS NOT NULL{where} ORDER BY 1",
            (start, end) if windows is None else (start, end, json.dumps(windows))).fetchall()]

    def has_cases(self) -> bool:
        return self.db.execute("SELECT 1 FROM cases LIMIT 1").fetchone() is not None

    def case_counts_by_window(self, start: int, end: int, today: str) -> dict[str, dict[str, int]]:
        """Per window: follow-up cases opened in [start, end); those opened before `end` and open now; and
        of those the overdue (due before `today`, a local YYYY-MM-DD)."""
        out: dict[str, dict[str, int]] = {}
        for window, opened, still_open, overdue in self.db.execute(
                "SELECT window, sum(opened_at >= ?1), sum(status = 'open'), sum(status = 'open' AND due_date < ?3) "
                "FROM cases WHERE opened_at < ?2 GROUP BY window", (start, end, today)):
            out[window] = {"opened": opened or 0, "open": still_open or 0, "overdue": overdue or 0}
        return out
