"""The figures of a window or a clerk for a range of days: the one place both the API and the pages take them from."""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain import hours
from server.domain.durations import has_opening
from server.domain.figures import DayRange, absence_summary, rating_summary
from server.domain.misuse import Settings, both_ways
from server.domain.participation import participation
from server.reporting.verified import at_windows
from server.store import Store

log = logging.getLogger(__name__)

Sites = dict[str, tuple[str, str]]  # site -> (time zone, opening hours JSON), as store.reports.site_hours() gives


def window_summary(store: Store, window: str, days: DayRange, now_ms: int) -> dict:
    """The contract's summary of one window, plus `staffed` (see `staffed`)."""
    return window_summaries(store, [window], days, now_ms)[window]


def window_summaries(store: Store, windows: list[str], days: DayRange, now_ms: int,
                     sites: Sites | None = None) -> dict[str, dict]:
    """`window_summary` of each of `windows`, from one query per figure for all of them (the board's
    200 windows cost what a few do)."""
    start, end = days.start, days.end
    counts: dict[str, list] = {w: [] for w in windows}
    for window, scale, score, n in store.reports.rating_counts_of(windows, start, end):
        counts[window].append((scale, score, n))
    begun: dict[str, list] = {w: [] for w in windows}
    for window, a, b in store.reports.absences_of(windows, start, end):
        begun[window].append((a, b))
    overlapping: dict[str, list] = {w: [] for w in windows}
    for window, a, b in store.reports.absences_overlapping_of(windows, start, end):
        overlapping[window].append((a, b))
    feedback = store.reports.feedback_counts_of(windows, start, end)
    served = store.served.counts_of(windows, start, end)
    flagged: dict[str, list] = {w: [] for w in windows}
    for window, scale, score, n in store.misuse.flagged_counts_of(windows, start, end):
        flagged[window].append((scale, score, n))
    site_of = store.reports.window_sites(windows)
    official = {site: Settings.stored(store.misuse.site_settings(site)).official == "unflagged"
                for site in {s for s, _ in site_of.values()}}
    sites = store.reports.site_hours() if sites is None else sites
    return {window: {
        "window": window,
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "ratings": rating_summary(counts[window]),
        "absences": absence_summary(begun[window], now_ms),
        "feedback": {"count": feedback.get(window, 0)},
        "staffed": staffed(sites, *site_of.get(window, (None, None)), days, overlapping[window], now_ms),
        "participation": participation(sum(n for _, _, n in counts[window]), served.get(window, 0)),
        "misuse": misuse_figures(counts[window], flagged[window],
                                 official.get(site_of.get(window, (None, None))[0], False)),
    } for window in windows}


def misuse_figures(official: list, flagged: list, unflagged_only: bool) -> dict:
    """How many ratings were flagged (server/domain/misuse.py), whether the official figures leave them out, and
    the figures with and without them."""
    with_flagged, without_flagged = both_ways(official, flagged, unflagged_only)
    return {"flagged": sum(n for _, _, n in flagged), "official": "unflagged" if unflagged_only else "all",
            "with_flagged": rating_summary(with_flagged), "without_flagged": rating_summary(without_flagged)}


def staffed(sites: Sites, site: str | None, first_at: int | None, days: DayRange, absences,
            now_ms: int) -> dict | None:
    """How much of the site's opening time in the range (up to now) the window was staffed:
    `{"opening_seconds": N, "share": 0.93}`; `share` is None while the opening time passed shows as 0.0 hours
    (server/domain/durations.py: a share of a few minutes is no measure, and "100.0%" beside "0.0 hours" reads wrong). Only from the
    window's first event on (`first_at`): before its kiosk was there, nothing was known of its presence.
    None for a window in no site, or a site without opening hours."""
    week_tz = _week(sites, site)
    if week_tz is None:
        return None
    week, tz = week_tz
    start = days.end if first_at is None else max(days.start, first_at)
    opening = hours.opening_spans(week, tz, start, min(days.end, now_ms))
    opening_seconds = sum(b - a for a, b in opening) // 1000
    return {"opening_seconds": opening_seconds,
            "share": hours.staffed_share(week, tz, start, days.end, absences, now_ms)
            if has_opening(opening_seconds) else None}


def _week(sites: Sites, site: str | None) -> tuple[hours.Week, ZoneInfo] | None:
    if not site or site not in sites:
        return None
    tz_name, text = sites[site]
    try:
        week = hours.loads(text)
        tz = ZoneInfo(tz_name)
    except (ValueError, TypeError, KeyError, ZoneInfoNotFoundError) as exc:
        log.warning("site %s has unusable opening hours or time zone: %s", site, exc)
        return None
    return (week, tz) if week else None


def staff_summary(store: Store, staff: str, days: DayRange, now_ms: int, windows: list[str] | None = None) -> dict:
    """A clerk's figures across windows (only `windows` when given), and the same per window."""
    start, end = days.start, days.end
    member = store.reports.staff_member(staff)
    by_window: dict[str, list] = {}
    for window, scale, score, n in store.reports.staff_rating_counts_by_window(staff, start, end, windows):
        by_window.setdefault(window, []).append((scale, score, n))
    absences: dict[str, list] = {}
    for a in store.reports.staff_absence_list(staff, start, end, windows):
        absences.setdefault(a["window"], []).append((a["start_at"], a["end_at"]))
    feedback = store.reports.staff_feedback_counts_by_window(staff, start, end, windows)
    served = store.served.staff_counts_by_window(staff, start, end, windows)
    seen = sorted(set(by_window) | set(absences) | set(feedback) | set(served))
    titles = store.reports.window_titles(seen)  # not every window's: a monthly report asks for each of a city's clerks
    verified, at = at_windows(store, staff, seen)
    counts = store.reports.staff_rating_counts(staff, start, end, windows)
    ratings = rating_summary(counts)
    unflagged_only = any(Settings.stored(store.misuse.site_settings(site)).official == "unflagged"
                         for site, _ in store.reports.window_sites(seen).values())
    return {
        "staff": staff,
        "name": member["name"] if member else None,
        "verified": verified,  # server/reporting/verified.py: a clerk of the roster for every window's site here
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "ratings": ratings,
        "absences": absence_summary([span for spans in absences.values() for span in spans], now_ms),
        "feedback": {"count": sum(feedback.values())},
        "participation": participation(ratings["total"], sum(served.values())),
        "misuse": misuse_figures(counts, store.misuse.staff_flagged_counts(staff, start, end, windows), unflagged_only),
        "windows": [{"window": w, "title": titles.get(w, w),
                     "ratings": rating_summary(by_window.get(w, [])),
                     "absences": absence_summary(absences.get(w, []), now_ms),
                     "feedback": {"count": feedback.get(w, 0)}, "verified": at[w],
                     "participation": participation(sum(n for _, _, n in by_window.get(w, [])), served.get(w, 0))}
                    for w in seen],
    }
