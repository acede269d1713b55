"""Flagging suspected misuse (server/domain/misuse.py) on the jobs thread, as ratings come in.

Each run takes the ratings stored since the last one (by rowid, a mark kept in the settings), and for each window
and local day they fall on checks that whole day against its site's rules: closed hours, sign-ins, bursts, runs
of top scores, served customers; then, for each site touched, every clerk's share of top scores over the 30
days before. Flags are kept once per rating and rule, so a day checked again adds nothing twice and writes only
the flags it did not have; new flags raise one alert (kind `misuse`) per window.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain import hours, misuse
from server.domain.misuse import Flag, Rating, Settings
from server.domain.zones import DEFAULT_ZONE
from server.followup.alerts import raise_misuse_alert
from server.store import Store
from shared.timefmt import DAY_MS, to_ms

log = logging.getLogger(__name__)

USUAL_DAYS = 28            # the window's usual pace: its ratings per opening hour over the 28 days before
HOURS_WITHOUT_OPENING = 8  # a site without opening hours: its windows' days count as 8 hours
OUTLIER_DAYS = 30


def site_settings(store: Store, site: str | None) -> Settings:
    """A site's rules as stored (its own over the default)."""
    return Settings.stored(store.misuse.site_settings(site))


class MisuseTask:
    name = "misuse"

    def __init__(self, interval: float = 60.0, batch: int = 20_000, zone: str = DEFAULT_ZONE):
        self.interval = float(interval)
        self.batch = batch
        self.zone = zone  # for windows in no site

    @classmethod
    def from_config(cls, config: Mapping) -> MisuseTask:
        return cls(float(config.get("MISUSE_INTERVAL", 60)), zone=config.get("TIMEZONE", DEFAULT_ZONE))

    def run(self, store: Store, now: datetime) -> None:
        touched, mark = store.misuse.new_ratings(self.batch)
        if not touched:
            return
        now_ms = to_ms(now)
        places = store.reports.window_sites(sorted({w for w, _ in touched}))
        site_rows = {s: store.registry.site(s) for s in {site for site, _ in places.values() if site}}
        days: set[tuple[str, str, int]] = set()
        for window, at in touched:
            site = places.get(window, (None, None))[0]
            tz = ZoneInfo(site_rows[site]["timezone"]) if site in site_rows and site_rows[site] else ZoneInfo(self.zone)
            midnight = datetime.combine(datetime.fromtimestamp(at / 1000, tz).date(), time(), tz)
            days.add((window, site or "", to_ms(midnight)))
        new: dict[str, int] = {}
        for window, site, start in sorted(days):
            row = site_rows.get(site) if site else None
            n = self._day(store, window, row, start, now_ms)
            if n:
                new[window] = new.get(window, 0) + n
        for site in site_rows:
            for window, n in self._outliers(store, site, now_ms).items():
                new[window] = new.get(window, 0) + n
        for window, n in new.items():
            raise_misuse_alert(store, window, n, now_ms)
        store.misuse.set_mark(mark)

    def _day(self, store: Store, window: str, site: dict | None, start: int, now_ms: int) -> int:
        """Check one window's local day from `start` (ms of its midnight); returns how many flags were new."""
        rules = site_settings(store, site["site"] if site else None)
        tz = ZoneInfo(site["timezone"]) if site else ZoneInfo(self.zone)
        week = hours.loads(site["hours"]) if site else {}
        end = to_ms(datetime.combine(datetime.fromtimestamp(start / 1000, tz).date() + timedelta(days=1), time(), tz))
        ratings = [Rating(*r) for r in store.misuse.ratings(window, start, end)]
        flags: list[Flag] = []
        if rules.hours and week:
            spans = hours.opening_spans(week, tz, start, end)
            flags += misuse.outside_hours(ratings, lambda at: any(a <= at < b for a, b in spans))
        if rules.signin:
            flags += misuse.after_signin(ratings, store.misuse.signins(window, start - rules.signin_seconds * 1000,
                                                                       end), rules.signin_seconds)
        if rules.burst:
            flags += misuse.bursts(ratings, rules.burst_count, rules.burst_seconds)
        if rules.run:
            flags += misuse.top_runs(ratings, rules.run_length, rules.run_pace,
                                     self._usual_pace(store, window, week, tz, start))
        if rules.served:
            flags += misuse.beyond_served(ratings, store.served.counts_of([window], start, end).get(window))
        return store.misuse.add_flags(flags, now_ms, rules.official == "unflagged")

    @staticmethod
    def _usual_pace(store: Store, window: str, week, tz: ZoneInfo, start: int) -> float | None:
        """Ratings per opening hour over the USUAL_DAYS before `start`; None without any."""
        before = start - USUAL_DAYS * DAY_MS
        count = store.misuse.rating_count(window, before, start)
        if not count:
            return None
        if week:
            open_ms = sum(b - a for a, b in hours.opening_spans(week, tz, before, start))
        else:
            open_ms = USUAL_DAYS * HOURS_WITHOUT_OPENING * 3_600_000
        return count / (open_ms / 3_600_000) if open_ms else None

    @staticmethod
    def _outliers(store: Store, site: str, now_ms: int) -> dict[str, int]:
        """Flag the top scores of the site's outlier clerks over the OUTLIER_DAYS before now; new flags per window."""
        rules = site_settings(store, site)
        if not rules.outlier:
            return {}
        windows = [w["window"] for w in store.reports.windows([site])]  # by the site's index, not every window
        start = now_ms - OUTLIER_DAYS * DAY_MS
        tops = store.misuse.clerk_tops(windows, start, now_ms)
        new: dict[str, int] = {}
        others_top = sum(t for t, _ in tops.values())
        others_n = sum(n for _, n in tops.values())
        for staff, p in misuse.outlier_clerks(tops, rules.outlier_min, rules.outlier_alpha).items():
            top, n = tops[staff]
            base = (others_top - top) / (others_n - n)
            detail = (f"clerk {staff}: {top} top scores of {n} ({top / n:.1%}) against {base:.1%} of the site's "
                      f"other clerks over {OUTLIER_DAYS} days (p = {p:.1e})")
            ids = store.misuse.clerk_top_ratings(staff, windows, start, now_ms)
            added = store.misuse.add_flags([(i, "outlier", detail) for i in ids], now_ms,
                                           rules.official == "unflagged")
            if added:
                for window in store.misuse.windows_of(ids):
                    new[window] = new.get(window, 0) + added
                log.warning("misuse: %s", detail)
        return new
