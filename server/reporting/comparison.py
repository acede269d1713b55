"""三比: every window or clerk side by side for a period, each beside its own previous period and the same period a
year before (server/domain/periods.py: a month against the month before, a quarter against the quarter before, any other
range against as many days just before).

No Flask here: the page, its exports and the API all take their rows from `compare`.
"""
from __future__ import annotations

from server.domain import periods
from server.domain.figures import DayRange, absence_summary, rating_summary
from server.domain.ranking import rank, standing
from server.reporting.summary import window_summaries
from server.reporting.verified import across
from server.store import Store

BY = ("window", "staff")
METRICS = ("total", "satisfied_rate", "index", "absences", "absent_seconds", "staffed")
_DIGITS = {"satisfied_rate": 3, "index": 1, "staffed": 3}
ORDERS = ("asc", "desc")


def metrics(by: str) -> tuple[str, ...]:
    """The figures of a row: a clerk has no opening hours of their own, so no staffed share."""
    return METRICS if by == "window" else METRICS[:-1]


def sort_columns(by: str) -> tuple[str, ...]:
    """What `sort=` may name."""
    figures = metrics(by)
    return ("rank", "prev_rank", "key", "name", *figures, *(f"prev_{m}" for m in figures),
            *(f"change_{m}" for m in figures), *(f"year_{m}" for m in figures), *(f"change_year_{m}" for m in figures))


class BadArgument(ValueError):
    """A `by`, `sort` or `order` the comparison does not know: str() is English (the API's), `field` and `value`
    let a page say it in the reader's language."""

    def __init__(self, field: str, value: str, message: str):
        super().__init__(message)
        self.field, self.value = field, value


def check_args(by: str, column: str, order: str) -> None:
    """BadArgument for an unknown `by`, `sort` (for that `by`) or `order`."""
    if by not in BY:
        raise BadArgument("by", by, "by must be window or staff")
    if column not in sort_columns(by):
        raise BadArgument("sort", column, f"cannot sort by {column!r}")
    if order not in ORDERS:
        raise BadArgument("order", order, "order must be asc or desc")


def previous_period(days: DayRange) -> DayRange:
    """What `days` is compared with: the month, quarter or days before (server/domain/periods.py)."""
    return DayRange(*periods.previous(days.first, days.last), days.tz)


def year_before(days: DayRange) -> DayRange:
    """The same period twelve months before."""
    return DayRange(*periods.year_before(days.first, days.last), days.tz)


def compare(store: Store, by: str, days: DayRange, now_ms: int, windows: list[dict] | None = None,
            roster: list[dict] | None = None) -> list[dict]:
    """One row per window (`windows`: the visible ones' store.reports.windows() rows; None for all) or per clerk
    (seen at those windows in either period, or on `roster`), ranked (see `rank`), with its figures of the
    period, the previous one and the same period a year before (`current`, `previous`, `year_before`) and the
    changes from them (`change`, `change_year`); `last` and `prev_last` mark the last place of each period
    (a window last twice running is called in)."""
    if by not in BY:
        raise ValueError(f"by must be one of {BY}")
    names = None if windows is None else [w["window"] for w in windows]
    windows = store.reports.windows() if windows is None else windows
    before = previous_period(days)
    year = year_before(days)
    if by == "window":
        keys = {w["window"]: w["title"] for w in windows}
    else:
        staff_names = store.reports.staff_names()
        keys = {m["staff"]: m["name"] for m in roster or []}
    figures_of = [_figures(store, by, period, now_ms, names, windows) for period in (days, before, year)]
    if by == "staff":  # a clerk seen in this period or the previous one; a year before only adds their figures
        for figures in figures_of[:2]:
            keys.update({key: staff_names.get(key) for key in figures if key not in keys})
    empty = _empty(by, now_ms)
    rows = []
    for key, name in keys.items():
        current, previous, a_year_before = (figures.get(key, empty) for figures in figures_of)
        rows.append({by: key, ("title" if by == "window" else "name"): name,
                     "current": current, "previous": previous, "year_before": a_year_before,
                     "change": {m: _change(m, current[m], previous[m]) for m in metrics(by)},
                     "change_year": {m: _change(m, current[m], a_year_before[m]) for m in metrics(by)}})
    if by == "staff":  # server/reporting/verified.py: a clerk of the roster for the site of every window counted in a row
        seen: dict[str, set[str]] = {key: set() for key in keys}
        for window, staff in store.reports.staff_windows_seen(before.start, days.end, names):
            seen.setdefault(staff, set()).add(window)
        verified = across(store, seen)
        for row in rows:
            row["verified"] = verified[row["staff"]]
    min_sample = store.settings.min_sample()
    rank(rows, lambda r: r["current"], "rank", "last", min_sample, ranked="ranked")
    rank(rows, lambda r: r["previous"], "prev_rank", "prev_last", min_sample)
    return sort_rows(rows, by, "rank", "asc")


def _figures(store: Store, by: str, days: DayRange, now_ms: int, names: list[str] | None,
             windows: list[dict]) -> dict[str, dict]:
    """Each window's or clerk's figures of a period (`names`: the windows counted, None for all)."""
    counts: dict[str, list] = {}
    for key, scale, score, n in store.reports.rating_counts_grouped(by, days.start, days.end, names):
        counts.setdefault(key, []).append((scale, score, n))
    if by == "window":
        summaries = window_summaries(store, [w["window"] for w in windows], days, now_ms)
        return {window: _row(counts.get(window, []), s["absences"])
                | {"staffed": s["staffed"]["share"] if s["staffed"] else None} for window, s in summaries.items()}
    spans: dict[str, list] = {}
    for key, start, end in store.reports.absences_grouped(by, days.start, days.end, names):
        spans.setdefault(key, []).append((start, end))
    return {key: _row(counts.get(key, []), absence_summary(spans.get(key, []), now_ms))
            for key in sorted(set(counts) | set(spans))}


def _row(counts: list[tuple[int, int, int]], absences: dict) -> dict:
    """A row's figures of a period, with its ranking standing (server/domain/ranking.py)."""
    ratings = rating_summary(counts)
    return {"total": ratings["total"], "satisfied_rate": ratings["satisfied_rate"], "index": ratings["index"],
            "absences": absences["count"], "absent_seconds": absences["total_seconds"], **standing(counts)}


def _empty(by: str, now_ms: int) -> dict:
    row = _row([], absence_summary([], now_ms))
    return row | {"staffed": None} if by == "window" else row


def _change(metric: str, now, before):
    if now is None or before is None:
        return None
    digits = _DIGITS.get(metric)
    return round(now - before, digits) if digits else now - before


def cell(row: dict, by: str, column: str):
    """The value a sort column names in a row."""
    if column in ("rank", "prev_rank"):
        return row[column]
    if column == "key":
        return row[by]
    if column == "name":
        return row["title" if by == "window" else "name"]
    for prefix, part in (("prev_", "previous"), ("change_year_", "change_year"), ("change_", "change"),
                         ("year_", "year_before")):
        if column.startswith(prefix):
            return row[part][column[len(prefix):]]
    return row["current"][column]


def sort_rows(rows: list[dict], by: str, column: str, order: str) -> list[dict]:
    """Sorted by a column (see `sort_columns`); empty values last whichever the order, ties by key."""
    if column not in sort_columns(by):
        raise ValueError(f"unknown column {column!r}")
    if order not in ORDERS:
        raise ValueError("order must be asc or desc")
    by_key = sorted(rows, key=lambda r: r[by])
    valued = [r for r in by_key if cell(r, by, column) is not None]
    valued.sort(key=lambda r: cell(r, by, column), reverse=order == "desc")
    return valued + [r for r in by_key if cell(r, by, column) is None]
