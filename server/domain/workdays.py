"""The working-day calendar of mainland China: weekends, public holidays and make-up working days (调休).

The official arrangement comes from the `chinese_calendar` package, which holds the State Council's
notices for the years it knows (2004–2026 in version 1.11). On top of it go the admin's corrections
(the `holidays` table, or a holiday file): a day `off` or a make-up day of `work`, each with a name.
For a year the package does not know, and that the corrections do not cover, the calendar falls back
to Monday–Friday and says so (`has_official(year)`), so the admin page can warn. Pure: no Flask, no SQL.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)

KINDS = ("off", "work")
MAX_WORKING_DAYS = 366  # more than any deadline; guards a calendar corrected into having no working day


@dataclass(frozen=True)
class Correction:
    """The admin's word on one day: `off` (a holiday) or `work` (a make-up working day)."""
    day: date
    kind: str
    name: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")


@dataclass(frozen=True)
class Day:
    """One day as the calendar sees it, for the admin's page."""
    day: date
    working: bool
    source: str        # 'package' (official data), 'correction' (the admin's), 'weekdays' (no data: Mon–Fri)
    name: str          # the holiday a day off or a make-up day belongs to, '' for ordinary days
    package_working: bool | None  # what the package says, None when it has no data for the year


def official(day: date) -> tuple[bool, str] | None:
    """(working, holiday name in Chinese) from the package, or None when it has no data for the year."""
    try:
        working = chinese_calendar.is_workday(day)
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return working, _chinese(name)


def _chinese(name: str | None) -> str:
    if not name:
        return ""
    try:
        return chinese_calendar.Holiday(name).chinese
    except ValueError:
        return name


class Calendar:
    """Working days: the admin's corrections first, then the package, then Monday–Friday."""

    def __init__(self, corrections: Iterable[Correction] = ()):
        self.corrections: dict[date, Correction] = {c.day: c for c in corrections}
        self._years: dict[int, bool] = {}
        self._days: dict[date, bool] = {}

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> Calendar:
        """From `holidays` table rows (day 'YYYY-MM-DD', kind, name)."""
        return cls(Correction(date.fromisoformat(r["day"]), r["kind"], r.get("name") or "") for r in rows)

    def has_official(self, year: int) -> bool:
        """Whether the package has the State Council's arrangement for `year`."""
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = official(date(year, 1, 1)) is not None
        return known

    def is_working_day(self, day: date) -> bool:
        working = self._days.get(day)
        if working is None:
            working = self._days[day] = self._working(day)
        return working

    def _working(self, day: date) -> bool:
        correction = self.corrections.get(day)
        if correction is not None:
            return correction.kind == "work"
        if self.has_official(day.year):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, opened: date, n: int) -> date:
        """The n-th working day after `opened` (the day itself does not count, working or not)."""
        if n < 1:
            raise ValueError("a deadline is at least one working day")
        day, counted = opened, 0
        for _ in range(MAX_WORKING_DAYS * 2):
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == n:
                    return day
        raise ValueError(f"no {n} working days within {MAX_WORKING_DAYS * 2} days after {opened}")

    def working_days_between(self, first: date, last: date) -> int:
        """How many working days from `first` to `last`, both included (0 when last < first)."""
        count, day = 0, first
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def fallback_years(self, first: date, last: date) -> list[int]:
        """The years from `first` to `last` counted Monday–Friday for want of official data."""
        return [y for y in range(first.year, last.year + 1) if not self.has_official(y)]

    def year(self, year: int) -> list[Day]:
        """Every day of `year`, for the admin's page."""
        days, day = [], date(year, 1, 1)
        while day.year == year:
            package = official(day)
            correction = self.corrections.get(day)
            if correction is not None:
                source, name = "correction", correction.name
            elif package is not None:
                source, name = "package", package[1]
            else:
                source, name = "weekdays", ""
            days.append(Day(day, self.is_working_day(day), source, name,
                            None if package is None else package[0]))
            day += timedelta(days=1)
        return days


FILE_ERRORS = ("fields", "date", "kind", "name", "twice", "many")


def parse_holiday_file(text: str, limit: int = 1000) -> tuple[list[Correction], list[tuple[int, str]]]:
    """Lines `YYYY-MM-DD,off|work,name` (blank lines and `#` comments skipped) -> corrections, errors.

    Errors are (line number, one of FILE_ERRORS) for the page to put in words.
    """
    corrections: dict[date, Correction] = {}
    errors: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2:
            parts.append("")
        if len(parts) != 3:
            errors.append((number, "fields"))
            continue
        day_text, kind, name = parts
        try:
            day = date.fromisoformat(day_text)
            if len(day_text) != 10:
                raise ValueError
        except ValueError:
            errors.append((number, "date"))
            continue
        if kind not in KINDS:
            errors.append((number, "kind"))
            continue
        if len(name) > 40:
            errors.append((number, "name"))
            continue
        if day in corrections:
            errors.append((number, "twice"))
            continue
        corrections[day] = Correction(day, kind, name)
        if len(corrections) > limit:
            errors.append((number, "many"))
            break
    return list(corrections.values()), errors
