"""A site's opening hours, and how much of them a window was staffed. Pure: no SQL, no Flask.

Stored as JSON keyed by ISO weekday (1 = Monday): `{"1": [["09:00", "12:00"], ["13:30", "17:00"]], "7": []}`;
a missing or empty day is closed. Times are the site's local wall-clock times.
"""
from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.timefmt import to_ms

Week = dict[int, list[tuple[int, int]]]  # weekday -> [(start minute, end minute)]

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–—~～至]\s*(\d{1,2}):(\d{2})$")
_SEPARATORS = re.compile(r"[,，、;；]")


def N_(template: str) -> str:
    """Marks a text for the gettext catalog; the web app translates it where it shows it."""
    return template


class HoursError(ValueError):
    """A bad entry: `template % params` in Chinese; `translated(gettext)` in the reader's language."""

    def __init__(self, template: str, **params):
        super().__init__(template % params)
        self.template, self.params = template, params

    def translated(self, gettext) -> str:
        return gettext(self.template, **self.params)


def parse_day(text: str) -> list[tuple[int, int]]:
    """"09:00-12:00, 13:30-17:00" -> [(540, 720), (810, 1020)]; "" is closed."""
    spans = []
    for part in (p.strip() for p in _SEPARATORS.split(text or "")):
        if not part:
            continue
        match = _SPAN.match(part)
        if not match:
            raise HoursError(N_("“%(part)s”不是时段，应写成 09:00-12:00"), part=part)
        h1, m1, h2, m2 = map(int, match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise HoursError(N_("“%(part)s”中的时间不存在"), part=part)
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise HoursError(N_("“%(part)s”的结束时间应晚于开始时间"), part=part)
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise HoursError(N_("时段不能重叠"))
    return spans


def format_day(spans: Iterable[tuple[int, int]]) -> str:
    return ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in spans)


def loads(text: str | None) -> Week:
    data = json.loads(text) if text else {}
    return {int(day): [(_minutes(a), _minutes(b)) for a, b in spans] for day, spans in data.items() if spans}


def dumps(week: Week) -> str:
    return json.dumps({str(day): [[_hhmm(a), _hhmm(b)] for a, b in week[day]]
                       for day in sorted(week) if week[day]}, ensure_ascii=False)


def opening_spans(week: Week, tz: ZoneInfo, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """The opening intervals (epoch ms) within [start_ms, end_ms), by the site's local clock."""
    if not week or end_ms <= start_ms:
        return []
    day = datetime.fromtimestamp(start_ms / 1000, tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_ms / 1000, tz).date()
    out = []
    while day <= last:
        midnight = datetime.combine(day, time(), tz)
        for a, b in week.get(day.isoweekday(), ()):
            lo = max(start_ms, _local_ms(midnight, a, tz))
            hi = min(end_ms, _local_ms(midnight, b, tz))
            if lo < hi:
                out.append((lo, hi))
        day += timedelta(days=1)
    return out


def staffed_share(week: Week, tz: ZoneInfo, start_ms: int, end_ms: int,
                  absences: Iterable[tuple[int, int | None]], now_ms: int) -> float | None:
    """Share of the opening time in [start_ms, min(end_ms, now_ms)) not covered by absences; None when no
    opening time has passed. An absence still open runs until now."""
    opening = opening_spans(week, tz, start_ms, min(end_ms, now_ms))
    total = sum(b - a for a, b in opening)
    if not total:
        return None
    away = _merge((a, now_ms if b is None else b) for a, b in absences)
    return round((total - _covered(opening, away)) / total, 3)


def _covered(spans: list[tuple[int, int]], away: list[tuple[int, int]]) -> int:
    """How much of each of `spans` the merged, ordered `away` covers, summed: for each span only the absences
    that reach into it (a year's report has hundreds of both: not every pair)."""
    ends = [d for _, d in away]
    covered = 0
    for a, b in spans:
        i = bisect.bisect_right(ends, a)  # the first absence that ends after the span begins
        while i < len(away) and away[i][0] < b:
            c, d = away[i]
            covered += min(b, d) - max(a, c)
            i += 1
    return covered


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping intervals made one, so no moment counts twice."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _local_ms(midnight: datetime, minutes: int, tz: ZoneInfo) -> int:
    """A wall-clock time of that day (24:00 is the next midnight)."""
    moment = datetime.combine(midnight.date() + timedelta(days=minutes // 1440),
                              time(minutes % 1440 // 60, minutes % 60), tz)
    return to_ms(moment)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def combined_staffed_share(staffed: Iterable[dict | None]) -> float | None:
    """The staffed share of several windows together (each one's `staffed_share` figures, None where unknown),
    weighted by each one's opening time; None when none was open."""
    known = [s for s in staffed if s and s.get("share") is not None and s.get("opening_seconds")]
    opening = sum(s["opening_seconds"] for s in known)
    return round(sum(s["share"] * s["opening_seconds"] for s in known) / opening, 3) if opening else None
