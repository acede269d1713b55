"""Calendar periods as halls count them: the quick ranges of the report pages, and what a range is compared with
(三比's previous period and the same period a year before). Pure: dates in, dates out.

What a range `first..last` is compared with (`previous`):
- whole calendar months (a month, a quarter, a year, or any run of whole months): the same number of whole months
  just before: October against September, the fourth quarter against the third, 2026 against 2025;
- a month, quarter or year so far (it starts on the unit's first day and ends inside it): the same part of the
  unit before: 1-12 November against 1-12 October, a quarter's first 40 days against the previous quarter's
  first 40 (a day past the end of a shorter month falls on that month's last day);
- any other range: the same number of days just before.
The same period a year before (`year_before`) is the range moved back twelve months by the same rule
(29 February falls on 28 February; a month's last day on that month's last day).
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta

UNITS = (1, 3, 12)  # months in a month, a quarter, a year


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int, keep_end: bool = False) -> date:
    """`day` moved by whole months; a day past the target month's end falls on its last day. With `keep_end` a
    month's last day stays its month's last day (30 November back one month is 31 October)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if keep_end and day == month_end(day):
        return date(year, month + 1, last)
    return date(year, month + 1, min(day.day, last))


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _unit_start(day: date, months: int) -> bool:
    """Whether `day` begins a calendar unit of `months` months (a month, a quarter, a year)."""
    return day.day == 1 and (day.month - 1) % months == 0


def previous(first: date, last: date) -> tuple[date, date]:
    """The range `first..last` is compared with (see the module's docstring)."""
    if first.day == 1:
        months = _months_between(first, last)
        if last == month_end(last):  # whole months
            return add_months(first, -months), add_months(last, -months, keep_end=True)
        for unit in UNITS:  # a unit so far
            if months <= unit and _unit_start(first, unit):
                return add_months(first, -unit), add_months(last, -unit)
    length = last - first + timedelta(days=1)
    return first - length, last - length


def year_before(first: date, last: date) -> tuple[date, date]:
    """The same period twelve months earlier."""
    return add_months(first, -12), add_months(last, -12, keep_end=True)


def presets(today: date) -> list[tuple[str, date, date]]:
    """The quick ranges, keyed: today, this week (from Monday), this month, last month, this quarter, last
    quarter, this year, last year (each "this" one up to today)."""
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    year = today.replace(month=1, day=1)
    return [("today", today, today), ("week", week, today),
            ("month", month, today), ("last_month", add_months(month, -1), month - timedelta(days=1)),
            ("quarter", quarter, today), ("last_quarter", add_months(quarter, -3), quarter - timedelta(days=1)),
            ("year", year, today), ("last_year", add_months(year, -12), year - timedelta(days=1))]


CLERK_DAYS = 30  # a clerk reads their own feedback of the last 30 days...
CLERK_DELAY_DAYS = 1  # ...ending before today: no rating points at the customer just served


def clerk_feedback_days(today: date) -> tuple[date, date]:
    """The local days (first, last) a clerk's own feedback page covers on `today`."""
    last = today - timedelta(days=CLERK_DELAY_DAYS)
    return last - timedelta(days=CLERK_DAYS - 1), last
