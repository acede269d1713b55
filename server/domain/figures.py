"""Report figures, computed from counts: no SQL, no Flask.

The formulas are the contract's: satisfied share (score > (scale + 1) / 2) and
the 0-100 index, each rating measured on its own scale.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain.periods import month_end
from shared.scoring import index_points, is_satisfied
from shared.timefmt import to_ms


def satisfied_of(counts: Iterable[tuple[int, int, int]]) -> tuple[int, int]:
    """From (scale, score, count) rows: (satisfied, total), the satisfied rate's numerator and denominator, each
    rating judged on its own scale (shared/scoring.py `is_satisfied`)."""
    satisfied = total = 0
    for scale, score, n in counts:
        total += n
        satisfied += n if is_satisfied(score, scale) else 0
    return satisfied, total


def rating_summary(counts: Iterable[tuple[int, int, int]]) -> dict:
    """From (scale, score, count) rows to total, by_score, satisfied_rate and index."""
    counts = list(counts)
    satisfied, total = satisfied_of(counts)
    top = max((scale for scale, _, _ in counts), default=5)
    by_score = {str(s): 0 for s in range(1, top + 1)}
    points = 0.0
    for scale, score, n in counts:
        by_score[str(score)] += n
        points += n * index_points(score, scale)
    return {
        "total": total,
        "by_score": by_score,
        "satisfied_rate": round(satisfied / total, 3) if total else None,
        "index": round(points / total, 1) if total else None,
    }


def absence_summary(spans: Iterable[tuple[int, int | None]], now_ms: int) -> dict:
    """From (start, end) in ms; an absence still open counts up to now."""
    lengths = [max(0, (end if end is not None else now_ms) - start) / 1000 for start, end in spans]
    return {
        "count": len(lengths),
        "total_seconds": round(sum(lengths)),
        "longest_seconds": round(max(lengths, default=0)),
    }


@dataclass(frozen=True)
class DayRange:
    """Local dates `first`..`last` inclusive, as epoch milliseconds [start, end)."""
    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> int:
        return to_ms(datetime.combine(self.first, time(), self.tz))

    @property
    def end(self) -> int:
        return to_ms(datetime.combine(self.last + timedelta(days=1), time(), self.tz))


# What a report may ask for: the rule of every date, day range and month a request names (pages and API).
EARLIEST_DAY = date(2000, 1, 1)   # nothing this product counts is older
AHEAD_DAYS = 366                  # a range may end up to a year past today (a quarter or year being planned)
MAX_YEARS = 10                    # the longest range a manager needs: ten years, the comparison's period included

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_MAX_TEXT = 32                    # longer input is not even looked at


class BadRange(ValueError):
    """A date, range or month a report cannot take. `reason` names the rule broken (the web pages say it in the
    reader's language from it), `values` its figures; str() is the English message the API returns."""

    def __init__(self, reason: str, message: str, **values):
        super().__init__(message)
        self.reason = reason
        self.values = values


def latest_day(today: date) -> date:
    return today + timedelta(days=AHEAD_DAYS)


def parse_day(text: str, today: date) -> date:
    """A request's date: YYYY-MM-DD in ASCII digits, a real date, from EARLIEST_DAY to latest_day(today)."""
    if len(text) > _MAX_TEXT or not _ISO_DATE.fullmatch(text):
        raise BadRange("format", "dates must be real dates written YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRange("format", "dates must be real dates written YYYY-MM-DD") from None
    return _in_bounds(day, today)


def _in_bounds(day: date, today: date) -> date:
    if day < EARLIEST_DAY:
        raise BadRange("early", f"dates start at {EARLIEST_DAY.isoformat()}", day=EARLIEST_DAY.isoformat())
    latest = latest_day(today)
    if day > latest:
        raise BadRange("late", f"dates end at {latest.isoformat()}", day=latest.isoformat())
    return day


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def check_span(first: date, last: date) -> None:
    """`last` not before `first`, and less than MAX_YEARS after it."""
    if last < first:
        raise BadRange("order", "'to' is before 'from'")
    if last >= _years_after(first, MAX_YEARS):
        raise BadRange("long", f"a range spans at most {MAX_YEARS} years", years=MAX_YEARS)


def parse_bounds(first: str | None, last: str | None, today: date) -> tuple[date | None, date | None]:
    """Optional `from`/`to` of a filter (empty: open on that side), each within the bounds, in order."""
    a = parse_day(first.strip(), today) if first and first.strip() else None
    b = parse_day(last.strip(), today) if last and last.strip() else None
    if a is not None and b is not None:
        check_span(a, b)
    return a, b


def parse_range(first: str | None, last: str | None, tz: ZoneInfo, today: date) -> DayRange:
    """`from`/`to` query values (YYYY-MM-DD, inclusive); a missing one means today."""
    a = parse_day(first, today) if first else today
    b = parse_day(last, today) if last else today
    check_span(a, b)
    return DayRange(a, b, tz)


def parse_month(text: str, tz: ZoneInfo, today: date) -> DayRange:
    """`YYYY-MM` as the days of that month, from EARLIEST_DAY's month up to this month."""
    match = _ISO_MONTH.fullmatch(text) if len(text) <= _MAX_TEXT else None
    if not match or not 1 <= int(match[2]) <= 12:
        raise BadRange("month", "months must be written YYYY-MM")
    if int(match[1]) < EARLIEST_DAY.year:
        raise BadRange("early", f"dates start at {EARLIEST_DAY.isoformat()}", day=EARLIEST_DAY.isoformat())
    first = date(int(match[1]), int(match[2]), 1)
    if first > today:
        raise BadRange("future", f"{text} has not begun", month=text)
    return DayRange(first, month_end(first), tz)


def window_state(online: bool, presence: str, staff: str | None, away_since: int | None, now_ms: int,
                 kiosk: bool = True) -> dict:
    """What the hall board says of a window: no kiosk assigned, offline, away for N minutes, no clerk, or serving."""
    if not kiosk:
        return {"state": "no_kiosk"}
    if not online:
        return {"state": "offline"}
    if presence == "away":
        minutes = max(0, now_ms - away_since) // 60000 if away_since is not None else 0
        return {"state": "away", "away_minutes": minutes}
    if not staff:
        return {"state": "no_clerk"}
    return {"state": "serving"}


def daily_summaries(quarters: Iterable[tuple[int, int, int, int]], days: DayRange) -> list[dict]:
    """From (quarter-hour, scale, score, count) rows to one rating summary per local day of the range."""
    per_day: dict[date, list[tuple[int, int, int]]] = {}
    for quarter, scale, score, n in quarters:
        day = datetime.fromtimestamp(quarter * 900, days.tz).date()
        per_day.setdefault(day, []).append((scale, score, n))
    out = []
    day = days.first
    while day <= days.last:
        out.append({"date": day.isoformat(), **rating_summary(per_day.get(day, []))})
        day += timedelta(days=1)
    return out


def heat_map(quarters: Iterable[tuple[int, int, int, int]], tz: ZoneInfo) -> dict:
    """Ratings per weekday (0 = Monday) and local hour, with the satisfied share of each cell."""
    cells: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for quarter, scale, score, n in quarters:
        moment = datetime.fromtimestamp(quarter * 900, tz)
        cells.setdefault((moment.weekday(), moment.hour), []).append((scale, score, n))
    return {f"{day},{hour}": rating_summary(rows) for (day, hour), rows in cells.items()}
