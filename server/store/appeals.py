"""Appeals against ratings, the ratings an upheld appeal took out of the statistics, and the raw record of
evaluations (kept ones and appealed ones) that the GB/T 39046 export reads.

Every statistic reads `ratings`; an upheld appeal moves its rating's row to `excluded_ratings`, so the
rating leaves every figure at once while `events` keeps what the kiosk sent.
"""
from __future__ import annotations

import json

from server.store.base import StoreBase
from shared.timefmt import DAY_MS

DECISIONS = ("upheld", "rejected")


class OwnAppeal(PermissionError):
    """Four eyes: the person who filed an appeal may not decide it."""

# a rating wherever it is now: kept (in the statistics) or excluded by an upheld appeal
_ANY_RATING = ("SELECT event_id, window, staff, at, score, scale, reasons, case_no, 0 AS excluded FROM ratings "
               "UNION ALL SELECT event_id, window, staff, at, score, scale, reasons, case_no, 1 FROM excluded_ratings")


class AppealQueries(StoreBase):
    # ------------------------------------------------------------ the rating an appeal is about
    def rating_for_appeal(self, rating_id: str) -> dict | None:
        """A rating, kept or excluded, with its window's title and site and its comments (`text`)."""
        return next(iter(self.db.query(
            f"SELECT r.*, w.title, w.site, (SELECT group_concat(f.text, '；') FROM feedback f "
            "WHERE f.window = r.window AND f.at >= r.at AND f.rating_id = r.event_id) AS text "
            f"FROM ({_ANY_RATING}) r LEFT JOIN windows w ON w.window = r.window WHERE r.event_id = ?",
            [rating_id])), None)

    def window_ratings(self, window: str, start: int, end: int, limit: int = 200) -> list[dict]:
        """A window's kept ratings with start <= at < end, the lowest first, then by time: what to pick an
        appeal's rating from. Each with `appeal`, the id of its standing appeal if it has one."""
        return list(self.db.query(
            "SELECT r.event_id, r.window, r.staff, r.at, r.score, r.scale, r.reasons, r.case_no, "
            "(SELECT a.id FROM appeals a WHERE a.rating_id = r.event_id AND a.status != 'rejected') AS appeal "
            "FROM ratings r WHERE r.window = ? AND r.at >= ? AND r.at < ? "
            "ORDER BY (r.score - 1) * 1.0 / (r.scale - 1), r.at LIMIT ?", [window, start, end, limit]))

    # ------------------------------------------------------------ filing and deciding
    def file_appeal(self, rating_id: str, filed_by: str, reason: str, now: int) -> int | None:
        """A pending appeal against a kept rating; None when the rating is not (or no longer) in the statistics.
        A rating with a standing (pending or upheld) appeal raises sqlite3.IntegrityError. The rating's
        follow-up case, if it has one, gets an `appeal_filed` line (the reason) in its log."""
        with self.writing():
            cursor = self.db.execute(
                "INSERT INTO appeals (rating_id, window, staff, filed_at, filed_by, reason) "
                "SELECT event_id, window, staff, ?, ?, ? FROM ratings WHERE event_id = ?",
                (now, filed_by, reason, rating_id))
            if cursor.rowcount != 1:
                return None
            self._log_on_case(rating_id, now, filed_by, "appeal_filed", reason)
            return cursor.lastrowid

    def standing_appeal(self, rating_id: str) -> int | None:
        row = self.db.execute("SELECT id FROM appeals WHERE rating_id = ? AND status != 'rejected'",
                              (rating_id,)).fetchone()
        return row[0] if row else None

    def decide_appeal(self, appeal_id: int, decision: str, decided_by: str, note: str, now: int) -> bool:
        """Uphold or reject a pending appeal; False when there is no such appeal or it was decided already;
        OwnAppeal when `decided_by` filed it (four eyes).

        Upheld, in one transaction: the rating moves from `ratings` to `excluded_ratings`, and its
        follow-up case, if it has one, is closed with an `appeal_upheld` line (the note) in the case's log.
        Rejected: the appeal's own row changes, and the case's log gets an `appeal_rejected` line."""
        if decision not in DECISIONS:
            raise ValueError(f"decision {decision!r} is not one of {DECISIONS}")
        with self.writing():
            row = self.db.execute("SELECT filed_by, rating_id FROM appeals WHERE id = ? AND status = 'pending'",
                                  (appeal_id,)).fetchone()
            if row is None:
                return False
            if row[0] == decided_by:
                raise OwnAppeal(f"appeal {appeal_id} was filed by {decided_by}: someone else decides it")
            decided = self.db.execute(
                "UPDATE appeals SET status = ?, decided_at = ?, decided_by = ?, decision_note = ? "
                "WHERE id = ? AND status = 'pending' AND filed_by != ?",
                (decision, now, decided_by, note, appeal_id, decided_by)).rowcount
            if decided != 1:
                return False
            if decision == "rejected":
                self._log_on_case(row[1], now, decided_by, "appeal_rejected", note)
            if decision == "upheld":
                rating_id = self.db.execute("SELECT rating_id FROM appeals WHERE id = ?", (appeal_id,)).fetchone()[0]
                moved = self.db.execute(
                    "INSERT INTO excluded_ratings (event_id, window, staff, at, score, scale, reasons, case_no, "
                    "appeal_id) SELECT event_id, window, staff, at, score, scale, reasons, case_no, ? "
                    "FROM ratings WHERE event_id = ?", (appeal_id, rating_id)).rowcount
                if moved != 1:  # filing needs a kept rating and only one appeal stands: this is a broken invariant
                    raise LookupError(f"appeal {appeal_id}: rating {rating_id} is not in the statistics")
                self.db.execute("DELETE FROM ratings WHERE event_id = ?", (rating_id,))
                self._close_case_of(rating_id, decided_by, note, now)
        return True

    def _log_on_case(self, rating_id: str, now: int, user: str, action: str, detail: str) -> None:
        """A line in the log of the rating's follow-up case, when it has one."""
        self.db.execute("INSERT INTO case_log (case_id, at, user, action, detail) "
                        "SELECT id, ?, ?, ?, ? FROM cases WHERE rating_id = ?", (now, user, action, detail, rating_id))

    def _close_case_of(self, rating_id: str, user: str, note: str, now: int) -> None:
        case = self.db.execute("SELECT id, status FROM cases WHERE rating_id = ?", (rating_id,)).fetchone()
        if case is None:
            return
        case_id, status = case
        if status == "open":
            self.db.execute("UPDATE cases SET status = 'closed', closed_at = ? WHERE id = ?", (now, case_id))
        self.db.execute("INSERT INTO case_log (case_id, at, user, action, detail) VALUES (?, ?, ?, 'appeal_upheld', ?)",
                        (case_id, now, user, note))

    # ------------------------------------------------------------ reading appeals
    # the rating is in one of the two tables; each is searched by its key (a join on their union would scan both)
    _APPEAL = ("SELECT a.*, coalesce(r.at, x.at) AS rating_at, coalesce(r.score, x.score) AS score, "
               "coalesce(r.scale, x.scale) AS scale, coalesce(r.case_no, x.case_no) AS case_no, w.title, w.site "
               "FROM appeals a LEFT JOIN ratings r ON r.event_id = a.rating_id "
               "LEFT JOIN excluded_ratings x ON x.event_id = a.rating_id LEFT JOIN windows w ON w.window = a.window")

    def appeal(self, appeal_id: int) -> dict | None:
        return next(iter(self.db.query(self._APPEAL + " WHERE a.id = ?", [appeal_id])), None)

    def appeals(self, status: str | None = None, window: str | None = None, staff: str | None = None,
                windows: list[str] | None = None, limit: int = 500) -> list[dict]:
        """Appeals, pending first (oldest first, the queue), then decided ones newest first; only those of
        `windows` when given."""
        sql = self._APPEAL + " WHERE 1"
        params: list = []
        for column, value in (("a.status", status), ("a.window", window), ("a.staff", staff)):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
        if windows is not None:
            sql += " AND a.window IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(windows))
        sql += (" ORDER BY a.status != 'pending', CASE WHEN a.status = 'pending' THEN a.filed_at "
                "ELSE -coalesce(a.decided_at, a.filed_at) END, a.id LIMIT ?")
        params.append(limit)
        return list(self.db.query(sql, params))

    def appeal_counts(self, windows: list[str] | None = None) -> dict[str, int]:
        """How many appeals are in each status."""
        sql = "SELECT status, count(*) FROM appeals"
        params: list = []
        if windows is not None:
            sql += " WHERE window IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(windows))
        return dict(self.db.execute(sql + " GROUP BY status", params).fetchall())

    # ------------------------------------------------------------ the raw record, for the GB/T 39046 export
    def evaluation_records(self, start: int, end: int, windows: list[str] | None = None) -> list[dict]:
        """Every rating with start <= at < end, kept or excluded, in time order, with its window's site,
        the comments tied to it (`text`, joined by '；') and its latest appeal's status (`appeal`).

        A comment follows its rating, so comments are looked for from `start` up to a day past `end`.
        Only the ratings of `windows` when given, else of every registered window."""
        if windows is None:
            scope, params = "IN (SELECT window FROM windows)", []
        else:
            scope, params = "IN (SELECT value FROM json_each(?))", [json.dumps(windows)]
        return list(self.db.query(
            f"WITH r AS (SELECT event_id, window, staff, at, score, scale, case_no FROM ratings "
            f"WHERE window {scope} AND at >= ? AND at < ? "
            f"UNION ALL SELECT event_id, window, staff, at, score, scale, case_no FROM excluded_ratings "
            f"WHERE window {scope} AND at >= ? AND at < ?), "
            f"f AS (SELECT rating_id, group_concat(text, '；') AS text FROM (SELECT rating_id, text FROM feedback "
            f"WHERE window {scope} AND at >= ? AND at < ? AND rating_id IS NOT NULL ORDER BY at) GROUP BY rating_id), "
            "a AS (SELECT rating_id, status FROM appeals WHERE id IN (SELECT max(id) FROM appeals GROUP BY rating_id)) "
            "SELECT r.*, w.site, f.text, a.status AS appeal FROM r LEFT JOIN windows w ON w.window = r.window "
            "LEFT JOIN f ON f.rating_id = r.event_id LEFT JOIN a ON a.rating_id = r.event_id "
            "ORDER BY r.at, r.event_id",
            [*params, start, end, *params, start, end, *params, start, end + DAY_MS]))
