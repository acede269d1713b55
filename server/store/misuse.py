"""Misuse flags (server/domain/misuse.py): what the rules read, the flags they leave, the sites' settings."""
from __future__ import annotations

import json
from collections.abc import Sequence

from server.store.base import StoreBase, chunks, marks
from server.store.settings import SettingsQueries

MISUSE = "misuse"        # setting: {"default": {...}, "sites": {site: {...}}} of server.domain.misuse.Settings
MISUSE_MARK = "misuse_mark"  # setting: the ratings rowid up to which the rules have run


class MisuseQueries(StoreBase):
    def __init__(self, db, settings: SettingsQueries):
        super().__init__(db)
        self.settings = settings

    # ------------------------------------------------------------ settings
    def site_settings(self, site: str | None) -> dict:
        """The stored values for a site (its own over the default); {} for none."""
        stored = self.settings.setting(MISUSE, {})
        stored = stored if isinstance(stored, dict) else {}
        own = (stored.get("sites") or {}).get(site) if site else None
        return {**(stored.get("default") or {}), **(own or {})}

    def set_site_settings(self, site: str | None, values: dict) -> None:
        """A site's values (`site` None: the default of every site without its own)."""
        stored = self.settings.setting(MISUSE, {})
        stored = stored if isinstance(stored, dict) else {}
        if site is None:
            stored["default"] = values
        else:
            stored.setdefault("sites", {})[site] = values
        self.settings.set_setting(MISUSE, stored)

    # ------------------------------------------------------------ what the rules read
    def new_ratings(self, limit: int) -> tuple[list[tuple[str, int]], int]:
        """(window, at) of up to `limit` ratings stored since the last run, and the mark after them."""
        mark = self.settings.setting(MISUSE_MARK, 0)
        rows = self.db.execute("SELECT rowid, window, at FROM ratings WHERE rowid > ? ORDER BY rowid LIMIT ?",
                               (mark, limit)).fetchall()
        return [(w, at) for _, w, at in rows], (rows[-1][0] if rows else mark)

    def set_mark(self, mark: int) -> None:
        self.settings.set_setting(MISUSE_MARK, mark)

    def ratings(self, window: str, start: int, end: int) -> list[tuple[str, int, int, int, str | None]]:
        """(id, at, score, scale, staff) of the window's ratings with start <= at < end, in time order."""
        return self.db.execute("SELECT event_id, at, score, scale, staff FROM ratings WHERE window = ? AND at >= ? "
                               "AND at < ? ORDER BY at, event_id", (window, start, end)).fetchall()

    def rating_count(self, window: str, start: int, end: int) -> int:
        return self.db.execute("SELECT count(*) FROM ratings WHERE window = ? AND at >= ? AND at < ?",
                               (window, start, end)).fetchone()[0]

    def signins(self, window: str, start: int, end: int) -> list[int]:
        """When a clerk signed in at the window (its kiosk's `staff` events naming one)."""
        return [at for (at,) in self.db.execute(
            "SELECT at FROM events WHERE window = ? AND type = 'staff' AND staff IS NOT NULL AND at >= ? AND at < ?",
            (window, start, end))]

    def clerk_tops(self, windows: Sequence[str], start: int, end: int) -> dict[str, tuple[int, int]]:
        """staff -> (top scores, ratings) at `windows` with start <= at < end."""
        found: dict[str, list[int]] = {}
        for chunk in chunks(list(windows)):
            for staff, top, n in self.db.execute(
                    f"SELECT staff, sum(score = scale), count(*) FROM ratings WHERE window IN ({marks(len(chunk))}) "
                    "AND at >= ? AND at < ? AND staff IS NOT NULL GROUP BY staff", [*chunk, start, end]):
                counts = found.setdefault(staff, [0, 0])
                counts[0] += top
                counts[1] += n
        return {staff: (t, n) for staff, (t, n) in found.items()}

    def windows_of(self, ids: Sequence[str]) -> list[str]:
        """The windows of these ratings."""
        found: set[str] = set()
        for chunk in chunks(list(ids)):
            found.update(w for (w,) in self.db.execute(
                f"SELECT DISTINCT window FROM ratings WHERE event_id IN ({marks(len(chunk))})", chunk))
        return sorted(found)

    def clerk_top_ratings(self, staff: str, windows: Sequence[str], start: int, end: int) -> list[str]:
        ids: list[str] = []
        for chunk in chunks(list(windows)):
            ids += [i for (i,) in self.db.execute(
                f"SELECT event_id FROM ratings WHERE staff = ? AND window IN ({marks(len(chunk))}) AND at >= ? "
                "AND at < ? AND score = scale", [staff, *chunk, start, end])]
        return ids

    # ------------------------------------------------------------ the flags
    def add_flags(self, flags: Sequence[tuple[str, str, str]], now: int, official_unflagged: bool) -> int:
        """Keep each (rating id, rule, detail) once; mark the ratings flagged, and out of the official figures
        when their site counts only unflagged ones. Returns how many flags were new.

        The rules look at a whole day again (an outlier clerk's 30 days) whenever a rating comes: the flags already
        kept are looked up and only the new ones written, so a run costs a read, not a write of every flag again
        (a rating already flagged counts as its site's choice says: `set_official`)."""
        if not flags:
            return 0
        conn = self.db.conn
        with self.writing():
            kept = {(i, rule) for i, found in self.flags_of(sorted({f[0] for f in flags})).items() for rule, _ in found}
            new: dict[tuple[str, str], str] = {}
            for i, rule, detail in flags:  # the first of a rating's flags by one rule, as before
                if (i, rule) not in kept:
                    new.setdefault((i, rule), detail)
            conn.executemany("INSERT INTO rating_flags (event_id, rule, detail, flagged_at) VALUES (?, ?, ?, ?)",
                             [(i, rule, detail, now) for (i, rule), detail in new.items()])
            conn.executemany("UPDATE ratings SET flagged = 1, counted = ? WHERE event_id = ? AND flagged = 0",
                             [(0 if official_unflagged else 1, i) for i in {i for i, _ in new}])
        return len(new)

    def flags_of(self, ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """rating id -> [(rule, detail)] of the flagged ones among `ids`."""
        found: dict[str, list[tuple[str, str]]] = {}
        for chunk in chunks(list(ids)):
            for event_id, rule, detail in self.db.execute(
                    f"SELECT event_id, rule, detail FROM rating_flags WHERE event_id IN ({marks(len(chunk))}) "
                    "ORDER BY event_id, rule", chunk):
                found.setdefault(event_id, []).append((rule, detail))
        return found

    def set_official(self, windows: Sequence[str], unflagged: bool) -> None:
        """The official figures of these windows count every rating, or only unflagged ones."""
        for chunk in chunks(list(windows)):
            self.db.execute(f"UPDATE ratings SET counted = ? WHERE flagged = 1 AND window IN ({marks(len(chunk))})",
                            [0 if unflagged else 1, *chunk])

    def flagged_counts_of(self, windows: Sequence[str], start: int, end: int) -> list[tuple[str, int, int, int]]:
        """(window, scale, score, count) of the flagged ratings with start <= at < end."""
        rows: list[tuple[str, int, int, int]] = []
        for chunk in chunks(list(windows)):
            rows += self.db.execute(
                f"SELECT window, scale, score, count(*) FROM ratings WHERE flagged = 1 AND window IN "
                f"({marks(len(chunk))}) AND at >= ? AND at < ? GROUP BY window, scale, score",
                [*chunk, start, end]).fetchall()
        return rows

    def flagged_list(self, start: int, end: int, window: str | None = None, staff: str | None = None,
                     windows: Sequence[str] | None = None, limit: int = 1000) -> list[dict]:
        """The flagged ratings with start <= at < end of a window or a clerk (only `windows` when given), newest
        first, each with its `flags`: [(rule, detail), ...]."""
        sql = ("SELECT r.event_id, r.at, r.window, r.staff, r.score, r.scale, r.counted, "
               "json_group_array(json_array(f.rule, f.detail)) AS flags FROM ratings r "
               "JOIN rating_flags f ON f.event_id = r.event_id WHERE r.flagged = 1 AND r.at >= ? AND r.at < ?")
        params: list = [start, end]
        for column, value in (("window", window), ("staff", staff)):
            if value is not None:
                sql += f" AND r.{column} = ?"
                params.append(value)
        rows = list(self.db.query(sql + " GROUP BY r.event_id ORDER BY r.at DESC LIMIT ?", [*params, limit]))
        return [{**r, "flags": [tuple(f) for f in json.loads(r["flags"])]} for r in rows
                if windows is None or r["window"] in windows]

    def staff_flagged_counts(self, staff: str, start: int, end: int,
                             windows: Sequence[str] | None = None) -> list[tuple[int, int, int]]:
        """(scale, score, count) of the clerk's flagged ratings with start <= at < end."""
        rows = self.db.execute("SELECT window, scale, score, count(*) FROM ratings WHERE flagged = 1 AND staff = ? "
                               "AND at >= ? AND at < ? GROUP BY window, scale, score", (staff, start, end)).fetchall()
        totals: dict[tuple[int, int], int] = {}
        for window, scale, score, n in rows:
            if windows is None or window in windows:
                totals[scale, score] = totals.get((scale, score), 0) + n
        return [(scale, score, n) for (scale, score), n in totals.items()]
