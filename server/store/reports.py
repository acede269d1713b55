"""What the reports, the pages and the API read."""
from __future__ import annotations

import json
from collections.abc import Iterable

from server.store.base import StoreBase, chunks, in_sites, marks, paged


class ReportQueries(StoreBase):
    # ------------------------------------------------------------ reads for reports and the API
    def windows(self, sites: list[str | None] | None = None, limit: int | None = None,
                offset: int = 0) -> list[dict]:
        """Every window with its device's state and its clerk's name; only those of `sites` when given (None in
        `sites`: the windows in no site); `limit` of them from `offset` on when given."""
        sql = ("SELECT w.window, w.title, w.device, coalesce(d.online, 0) AS online, w.presence, w.staff, "
               "s.name AS staff_name, w.site, w.clerk FROM windows w LEFT JOIN devices d ON d.device = w.device "
               "LEFT JOIN staff s ON s.staff = w.staff")
        where, params = in_sites(sites, "w.site")
        return list(self.db.query(*paged(sql + where + " ORDER BY w.window", params, limit, offset)))

    def window_count(self, sites: list[str | None] | None = None) -> int:
        """How many windows `windows(sites)` lists."""
        where, params = in_sites(sites, "w.site")
        return self.db.execute(f"SELECT count(*) FROM windows w{where}", params).fetchone()[0]

    def away_since(self) -> dict[str, int]:
        """When each window's open absence began (ms), for the windows that are away now."""
        return dict(self.db.execute(
            "SELECT w.window, a.start_at FROM windows w JOIN absences a ON a.id = w.open_absence").fetchall())

    def comments(self, start: int, end: int, text: str = "", window: str = "", staff: str = "",
                 score: int | None = None, limit: int = 500, windows: list[str] | None = None) -> list[dict]:
        """Comments with start <= at < end, newest first, with the score of the rating each belongs to;
        only those of `windows` when given."""
        sql = ("SELECT f.at, f.window, w.title, f.staff, f.text, f.channel, r.score, r.scale FROM feedback f "
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
        where, scoped = _in_windows(windows, "f.window")
        sql += where + " ORDER BY f.at DESC LIMIT ?"
        params += scoped
        params.append(limit)
        return list(self.db.query(sql, params))

    def fleet(self, sites: list[str | None] | None = None, limit: int | None = None,
              offset: int = 0) -> list[dict]:
        """Every device with its state, backlog and trouble: rejects, and streams with a gap now or declared lost;
        only those whose window is in `sites` when given (None in it: no site, or no window), `limit` of them
        from `offset` on when given."""
        where, params = in_sites(sites, "w.site")
        sql = ("SELECT d.device, d.window, d.confirmed, d.online, d.presence, d.outbox, d.version, d.sensor, "
               "d.first_seen, d.last_seen, d.heard, d.rejected, d.storage, d.storage_since, d.ignored_acks, "
               "d.ignored_upto_seq, d.ignored_ack_at, "
               "(SELECT count(*) FROM streams s WHERE s.device = d.device AND s.gap_since IS NOT NULL) AS open_gaps, "
               "(SELECT coalesce(sum(g.to_seq - g.from_seq + 1), 0) FROM gaps g WHERE g.device = d.device) AS lost "
               f"FROM devices d LEFT JOIN windows w ON w.window = d.window{where} ORDER BY d.device")
        return list(self.db.query(*paged(sql, params, limit, offset)))

    def fleet_counts(self, sites: list[str | None] | None = None) -> tuple[int, int]:
        """(devices, of them online) that `fleet(sites)` lists."""
        where, params = in_sites(sites, "w.site")
        total, online = self.db.execute(f"SELECT count(*), coalesce(sum(d.online), 0) FROM devices d "
                                        f"LEFT JOIN windows w ON w.window = d.window{where}", params).fetchone()
        return total, online

    def deviceless_rejects(self, limit: int = 5) -> list[dict]:
        """The newest rejected messages whose topic named no valid device, newest first (per device: device_rejects)."""
        return list(self.db.query(
            "SELECT received_at, device, topic, reason, stream, seq FROM rejects WHERE device IS NULL "
            "ORDER BY id DESC LIMIT ?", [limit]))

    def window(self, window: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM windows WHERE window = ?", [window])), None)

    def rating_counts_by_quarter_hour(self, window: str, start: int, end: int) -> list[tuple[int, int, int, int]]:
        """(quarter-hour since the epoch, scale, score, count): fine enough to put into local days and
        hours of any time zone in Python."""
        return [row[1:] for row in self.rating_counts_by_quarter_hour_of([window], start, end)]

    def reason_counts(self, window: str, start: int, end: int) -> list[tuple[str, int]]:
        """(reason code, how many ratings gave it), most given first."""
        return [row[1:] for row in self.reason_counts_of([window], start, end)]

    def absence_list(self, window: str, start: int, end: int) -> list[dict]:
        return list(self.db.query(
            "SELECT start_at, end_at, staff, window FROM absences WHERE window = ? AND start_at >= ? AND start_at < ? "
            "ORDER BY start_at", [window, start, end]))

    # ------------------------------------------------------------ a set of windows at once (summaries)
    # The figures count the ratings the official figures count (`counted`: all, or the unflagged ones where the
    # site says so, server/domain/misuse.py).
    # Each takes the windows as one JSON array (no limit on how many) and seeks the (window, at) indexes
    # once per window: the cost follows the windows and the range asked, not the size of the tables.
    def rating_counts_of(self, windows: list[str], start: int, end: int) -> list[tuple[str, int, int, int]]:
        """(window, scale, score, count) of the windows' ratings with start <= at < end."""
        return self.db.execute(
            "SELECT window, scale, score, count(*) FROM ratings WHERE window IN (SELECT value FROM json_each(?)) "
            "AND at >= ? AND at < ? AND counted = 1 GROUP BY window, scale, score", (json.dumps(windows), start, end)).fetchall()

    def rating_counts_by_quarter_hour_of(self, windows: list[str], start: int,
                                         end: int) -> list[tuple[str, int, int, int, int]]:
        """(window, quarter-hour since the epoch, scale, score, count): `rating_counts_by_quarter_hour` of each."""
        return self.db.execute(
            "SELECT window, at / 900000, scale, score, count(*) FROM ratings "
            "WHERE window IN (SELECT value FROM json_each(?)) AND at >= ? AND at < ? AND counted = 1 "
            "GROUP BY window, at / 900000, scale, score", (json.dumps(windows), start, end)).fetchall()

    def reason_counts_of(self, windows: list[str], start: int, end: int) -> list[tuple[str, str, int]]:
        """(window, reason code, how many of its ratings gave it): `reason_counts` of each, in the same order."""
        return self.db.execute(
            "SELECT r.window, j.value, count(*) FROM ratings r, json_each(r.reasons) j "
            "WHERE r.window IN (SELECT value FROM json_each(?)) AND r.at >= ? AND r.at < ? AND r.reasons IS NOT NULL "
            "AND r.counted = 1 GROUP BY r.window, j.value ORDER BY r.window, count(*) DESC, j.value",
            (json.dumps(windows), start, end)).fetchall()

    def absences_of(self, windows: list[str], start: int, end: int) -> list[tuple[str, int, int | None]]:
        """(window, start_at, end_at) of the absences that began in [start, end), in order."""
        return self.db.execute(
            "SELECT window, start_at, end_at FROM absences WHERE window IN (SELECT value FROM json_each(?)) "
            "AND start_at >= ? AND start_at < ? ORDER BY window, start_at",
            (json.dumps(windows), start, end)).fetchall()

    def absences_overlapping_of(self, windows: list[str], start: int, end: int) -> list[tuple[str, int, int | None]]:
        """(window, start_at, end_at) of the absences that overlap [start, end), whenever they began.

        A window's absences follow one another (one opens only while the window is present), so of
        those begun before `start` only each window's last can reach into the range."""
        return self.db.execute(
            "SELECT window, start_at, end_at FROM absences WHERE id IN (SELECT (SELECT b.id FROM absences b "
            "WHERE b.window = w.value AND b.start_at < ?2 ORDER BY b.start_at DESC LIMIT 1) FROM json_each(?1) w) "
            "AND (end_at IS NULL OR end_at > ?2) "
            "UNION ALL SELECT window, start_at, end_at FROM absences WHERE window IN (SELECT value FROM json_each(?1)) "
            "AND start_at >= ?2 AND start_at < ?3 ORDER BY 1, 2", (json.dumps(windows), start, end)).fetchall()

    def feedback_counts_of(self, windows: list[str], start: int, end: int) -> dict[str, int]:
        return dict(self.db.execute(
            "SELECT window, count(*) FROM feedback WHERE window IN (SELECT value FROM json_each(?)) "
            "AND at >= ? AND at < ? GROUP BY window", (json.dumps(windows), start, end)).fetchall())

    def window_sites(self, windows: list[str]) -> dict[str, tuple[str | None, int | None]]:
        """window -> (site, first_at: the time of its earliest event, None before any)."""
        return {w: (site, first) for w, site, first in self.db.execute(
            "SELECT window, site, first_at FROM windows WHERE window IN (SELECT value FROM json_each(?))",
            (json.dumps(windows),)).fetchall()}

    # ------------------------------------------------------------ one clerk, across windows
    # `windows` narrows a query to those windows (a scoped user's); None is every window.
    def staff_member(self, staff: str) -> dict | None:
        """The clerk's roster row (staff, name, site, active), or None when not on the roster."""
        return next(iter(self.db.query("SELECT staff, name, site, active FROM staff WHERE staff = ?", [staff])),
                    None)

    def staff_seen(self, staff: str, windows: list[str] | None = None) -> bool:
        """Whether any rating, absence or comment was ever stored for the clerk (at these windows), or a
        window has the clerk on duty now."""
        where, params = _in_windows(windows)
        for table in ("ratings", "absences", "feedback", "windows"):
            if self.db.execute(f"SELECT 1 FROM {table} WHERE staff = ?{where} LIMIT 1", [staff, *params]).fetchone():
                return True
        return False

    def staff_rating_counts(self, staff: str, start: int, end: int,
                            windows: list[str] | None = None) -> list[tuple[int, int, int]]:
        """(scale, score, count) of a clerk's ratings with start <= at < end."""
        where, params = _in_windows(windows)
        return self.db.execute(
            f"SELECT scale, score, count(*) FROM ratings WHERE staff = ? AND at >= ? AND at < ? AND counted = 1{where} "
            "GROUP BY scale, score", [staff, start, end, *params]).fetchall()

    def staff_rating_counts_by_quarter_hour(self, staff: str, start: int, end: int,
                                            windows: list[str] | None = None) -> list[tuple[int, int, int, int]]:
        where, params = _in_windows(windows)
        return self.db.execute(
            f"SELECT at / 900000, scale, score, count(*) FROM ratings WHERE staff = ? AND at >= ? AND at < ? AND counted = 1{where} "
            "GROUP BY at / 900000, scale, score", [staff, start, end, *params]).fetchall()

    def staff_rating_counts_by_window(self, staff: str, start: int, end: int,
                                      windows: list[str] | None = None) -> list[tuple[str, int, int, int]]:
        """(window, scale, score, count) of a clerk's ratings."""
        where, params = _in_windows(windows)
        return self.db.execute(
            f"SELECT window, scale, score, count(*) FROM ratings WHERE staff = ? AND at >= ? AND at < ? AND counted = 1{where} "
            "GROUP BY window, scale, score", [staff, start, end, *params]).fetchall()

    def staff_reason_counts(self, staff: str, start: int, end: int,
                            windows: list[str] | None = None) -> list[tuple[str, int]]:
        where, params = _in_windows(windows, "r.window")
        return self.db.execute(
            "SELECT j.value, count(*) FROM ratings r, json_each(r.reasons) j "
            f"WHERE r.staff = ? AND r.at >= ? AND r.at < ? AND r.reasons IS NOT NULL AND r.counted = 1{where} "
            "GROUP BY j.value ORDER BY count(*) DESC, j.value", [staff, start, end, *params]).fetchall()

    def staff_absence_list(self, staff: str, start: int, end: int, windows: list[str] | None = None) -> list[dict]:
        """The absences a clerk began in [start, end), with the window of each."""
        where, params = _in_windows(windows)
        return list(self.db.query(
            f"SELECT start_at, end_at, staff, window FROM absences WHERE staff = ? AND start_at >= ? AND start_at < ?"
            f"{where} ORDER BY start_at", [staff, start, end, *params]))

    def staff_feedback_counts_by_window(self, staff: str, start: int, end: int,
                                        windows: list[str] | None = None) -> dict[str, int]:
        where, params = _in_windows(windows)
        return dict(self.db.execute(
            f"SELECT window, count(*) FROM feedback WHERE staff = ? AND at >= ? AND at < ?{where} GROUP BY window",
            [staff, start, end, *params]).fetchall())

    def window_titles(self, windows: list[str] | None = None) -> dict[str, str]:
        """window -> title, of `windows` (every window for None)."""
        if windows is None:
            return dict(self.db.execute("SELECT window, title FROM windows").fetchall())
        return {window: title for chunk in chunks(windows) for window, title in self.db.execute(
            f"SELECT window, title FROM windows WHERE window IN ({marks(len(chunk))})", chunk)}

    # ------------------------------------------------------------ opening hours and staffed time
    def site_hours(self) -> dict[str, tuple[str, str]]:
        """site -> (time zone, opening hours JSON) of every site."""
        return {site: (tz, hours) for site, tz, hours in
                self.db.execute("SELECT site, timezone, hours FROM sites").fetchall()}

    # ------------------------------------------------------------ every window or clerk at once (comparison)
    def rating_counts_grouped(self, by: str, start: int, end: int,
                              windows: list[str] | None = None) -> list[tuple[str, int, int, int]]:
        """(window or staff, scale, score, count) of the ratings with start <= at < end."""
        column = _column(by)
        where, params = _in_windows(windows)
        return self.db.execute(
            f"SELECT {column}, scale, score, count(*) FROM ratings WHERE at >= ? AND at < ? AND counted = 1 "
            f"AND {column} IS NOT NULL{where} GROUP BY {column}, scale, score", [start, end, *params]).fetchall()

    def feedback_counts_grouped(self, by: str, start: int, end: int,
                                windows: list[str] | None = None) -> dict[str, int]:
        """window or staff -> how many comments with start <= at < end (those with no staff number left out)."""
        column = _column(by)
        where, params = _in_windows(windows)
        return dict(self.db.execute(
            f"SELECT {column}, count(*) FROM feedback WHERE at >= ? AND at < ? AND {column} IS NOT NULL{where} "
            f"GROUP BY {column}", [start, end, *params]).fetchall())

    def absences_grouped(self, by: str, start: int, end: int,
                         windows: list[str] | None = None) -> list[tuple[str, int, int | None]]:
        """(window or staff, start_at, end_at) of the absences that began in [start, end)."""
        column = _column(by)
        where, params = _in_windows(windows)
        return self.db.execute(
            f"SELECT {column}, start_at, end_at FROM absences WHERE start_at >= ? AND start_at < ? "
            f"AND {column} IS NOT NULL{where} ORDER BY start_at", [start, end, *params]).fetchall()

    def roster(self, sites: list[str | None] | None = None) -> list[dict]:
        """The active clerks on the roster (of these sites; None in them: of no site)."""
        where, params = in_sites(sites, "site")
        return list(self.db.query(f"SELECT staff, name, site FROM staff{where or ' WHERE 1'} AND active "
                                  "ORDER BY staff", params))

    def staff_names(self, staff: list[str] | None = None) -> dict[str, str]:
        """staff -> name on the roster: of every clerk, or of `staff` only (a city's roster has thousands)."""
        if staff is None:
            return dict(self.db.execute("SELECT staff, name FROM staff").fetchall())
        return dict(self.db.execute("SELECT staff, name FROM staff WHERE staff IN (SELECT value FROM json_each(?))",
                                    (json.dumps(staff),)).fetchall())

    # ------------------------------------------------------------ staff numbers as events carried them
    def verified_staff(self, pairs: Iterable[tuple[str | None, str]]) -> set[tuple[str | None, str]]:
        """Those (window, staff) of `pairs` whose staff number is a clerk of the roster for the window's site
        (active or not: past events stay theirs); at a window in no site, or no window (None), any clerk of the
        roster. A kiosk may send any number; it is stored as given, and reports mark the others unverified.
        The one home of that rule (server/reporting/verified.py puts it on rows): one query for any number of pairs."""
        wanted = sorted({(window, staff) for window, staff in pairs if staff}, key=lambda p: (p[0] or "", p[1]))
        if not wanted:
            return set()
        return {(window, staff) for window, staff in self.db.execute(
            "SELECT p.value ->> 0, p.value ->> 1 FROM json_each(?) p JOIN staff s ON s.staff = p.value ->> 1 "
            "LEFT JOIN windows w ON w.window = p.value ->> 0 WHERE w.site IS NULL OR s.site = w.site",
            (json.dumps(wanted),)).fetchall()}

    def staff_windows_seen(self, start: int, end: int, windows: list[str] | None = None) -> list[tuple[str, str]]:
        """(window, staff) of every rating or absence with a staff number in [start, end), once each."""
        where, params = _in_windows(windows)
        return self.db.execute(
            f"SELECT window, staff FROM ratings WHERE at >= ? AND at < ? AND staff IS NOT NULL{where} UNION "
            f"SELECT window, staff FROM absences WHERE start_at >= ? AND start_at < ? AND staff IS NOT NULL{where}",
            [start, end, *params, start, end, *params]).fetchall()


def _column(by: str) -> str:
    if by not in ("window", "staff"):
        raise ValueError(f"cannot group by {by!r}")
    return by


def _in_windows(windows: list[str] | None, column: str = "window") -> tuple[str, list]:
    """An `AND column IN (...)` clause for a scoped user's windows; nothing for every window."""
    if windows is None:
        return "", []
    return f" AND {column} IN ({marks(len(windows))})", list(windows)
