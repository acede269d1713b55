"""Report figures, computed from counts: no SQL, no Flask.

The formulas are the contract's: satisfied share (score > (scale + 1) / 2) and
the 0-100 index, each rating measured on its own scale.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from shared.scoring import index_points, is_satisfied
from shared.timefmt import to_ms


def rating_summary(counts: Iterable[tuple[int, int, int]]) -> dict:
    """From (scale, score, count) rows to total, by_score, satisfied_rate and index."""
    counts = list(counts)
    total = sum(n for _, _, n in counts)
    top = max((scale for scale, _, _ in counts), default=5)
    by_score = {str(s): 0 for s in range(1, top + 1)}
    satisfied = 0
    points = 0.0
    for scale, score, n in counts:
        by_score[str(score)] += n
        satisfied += n if is_satisfied(score, scale) else 0
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


class BadRange(ValueError):
    pass


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bad():
    raise ValueError


def parse_range(first: str | None, last: str | None, tz: ZoneInfo, today: date) -> DayRange:
    """`from`/`to` query values (YYYY-MM-DD, inclusive); a missing one means today."""
    try:
        a, b = (date.fromisoformat(v) if _ISO_DATE.match(v) else _bad() for v in (first or today.isoformat(),
                                                                             last or today.isoformat()))
    except ValueError:
        raise BadRange("dates must be real dates written YYYY-MM-DD") from None
    if b < a:
        raise BadRange("'to' is before 'from'")
    return DayRange(a, b, tz)


def window_state(online: bool, presence: str, staff: str | None, away_since: int | None, now_ms: int) -> dict:
    """What the hall board says of a window: offline, away for N minutes, no clerk, or serving."""
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
