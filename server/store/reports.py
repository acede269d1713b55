"""What the reports, the pages and the API read."""
from __future__ import annotations

from .base import StoreBase, marks


class ReportQueries(StoreBase):
    # ------------------------------------------------------------ reads for reports and the API
    def windows(self, sites: list[str] | None = None) -> list[dict]:
        """Every window with its device's state and its clerk's name; only those of `sites` when given."""
        sql = ("SELECT w.window, w.title, w.device, coalesce(d.online, 0) AS online, w.presence, w.staff, "
               "s.name AS staff_name, w.site FROM windows w LEFT JOIN devices d ON d.device = w.device "
               "LEFT JOIN staff s ON s.staff = w.staff")
        params: list = []
        if sites is not None:
            sql += f" WHERE w.site IN ({marks(len(sites))})"
            params = list(sites)
        return list(self.db.query(sql + " ORDER BY w.window", params))

    def away_since(self) -> dict[str, int]:
        """When each window's open absence began (ms), for the windows that are away now."""
        return dict(self.db.execute(
            "SELECT w.window, a.start_at FROM windows w JOIN absences a ON a.id = w.open_absence").fetchall())

    def comments(self, start: int, end: int, text: str = "", window: str = "", staff: str = "",
                 score: int | None = None, limit: int = 500) -> list[dict]:
        """Comments with start <= at < end, newest first, with the score of the rating each belongs to."""
        sql = ("SELECT f.at, f.window, w.title, f.staff, f.text, r.score, r.scale FROM feedback f "
               "LEFT JOIN windows w ON w.window = f.window LEFT JOIN ratings r ON r.event_id = f.rating_id "
               "WHERE f.at >= ? AND f.at < ?")
        params: list = [start, end]
        if text:
            sql += " AND f.text LIKE ? ESCAPE '\\'"
            params.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        for column, value in (("f.window", window), ("f.staff", staff)):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
        if score is not None:
            sql += " AND r.score = ?"
            params.append(score)
        sql += " ORDER BY f.at DESC LIMIT ?"
        params.append(limit)
        return list(self.db.query(sql, params))

    def fleet(self) -> list[dict]:
        """Every device with its state, backlog and trouble: rejects, and streams with a gap now or declared lost."""
        return list(self.db.query(
            "SELECT d.device, d.window, d.confirmed, d.online, d.presence, d.outbox, d.version, d.sensor, "
            "d.first_seen, d.last_seen, d.rejected, "
            "(SELECT count(*) FROM streams s WHERE s.device = d.device AND s.gap_since IS NOT NULL) AS open_gaps, "
            "(SELECT coalesce(sum(g.to_seq - g.from_seq + 1), 0) FROM gaps g WHERE g.device = d.device) AS lost "
            "FROM devices d ORDER BY d.device"))

    def recent_rejects(self, limit: int = 50) -> list[dict]:
        return list(self.db.query(
            "SELECT received_at, device, topic, reason, stream, seq FROM rejects ORDER BY id DESC LIMIT ?", [limit]))

    def window(self, window: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM windows WHERE window = ?", [window])), None)

    def rating_counts(self, window: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """(scale, score, count) of a window's ratings with start <= at < end."""
        return self.db.execute(
            "SELECT scale, score, count(*) FROM ratings WHERE window = ? AND at >= ? AND at < ? "
            "GROUP BY scale, score", (window, start, end)).fetchall()

    def rating_counts_by_quarter_hour(self, window: str, start: int, end: int) -> list[tuple[int, int, int, int]]:
        """(quarter-hour since the epoch, scale, score, count): fine enough to put into local days and
        hours of any time zone in Python."""
        return self.db.execute(
            "SELECT at / 900000, scale, score, count(*) FROM ratings WHERE window = ? AND at >= ? AND at < ? "
            "GROUP BY at / 900000, scale, score", (window, start, end)).fetchall()

    def reason_counts(self, window: str, start: int, end: int) -> list[tuple[str, int]]:
        """(reason code, how many ratings gave it), most given first."""
        return self.db.execute(
            "SELECT j.value, count(*) FROM ratings r, json_each(r.reasons) j "
            "WHERE r.window = ? AND r.at >= ? AND r.at < ? AND r.reasons IS NOT NULL "
            "GROUP BY j.value ORDER BY count(*) DESC, j.value", (window, start, end)).fetchall()

    def absence_list(self, window: str, start: int, end: int) -> list[dict]:
        return list(self.db.query(
            "SELECT start_at, end_at, staff FROM absences WHERE window = ? AND start_at >= ? AND start_at < ? "
            "ORDER BY start_at", [window, start, end]))

    def absences(self, window: str, start: int, end: int) -> list[tuple[int, int | None]]:
        """(start_at, end_at) of the absences that began in [start, end)."""
        return self.db.execute(
            "SELECT start_at, end_at FROM absences WHERE window = ? AND start_at >= ? AND start_at < ? "
            "ORDER BY start_at", (window, start, end)).fetchall()

    def feedback_count(self, window: str, start: int, end: int) -> int:
        return self.db.execute("SELECT count(*) FROM feedback WHERE window = ? AND at >= ? AND at < ?",
                               (window, start, end)).fetchone()[0]
