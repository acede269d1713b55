"""Durations as pages, exports and the monthly report show them: one unit and one rounding per context. Pure.

- A total or a longest time in a report (absences of a window, a clerk, a hall) and its change: minutes with one
  decimal, `minutes`. A change is the difference of the two figures as shown (`minutes_change`), so "4.0" beside
  "3.1" is "+0.9", never "+0.9" beside a rounded "0".
- One absence, where the seconds matter: whole minutes and seconds, `minutes_seconds` ("3 分 12 秒").
- Opening time: hours with one decimal, `hours`. A staffed share over opening time that shows as 0.0 hours is no
  share at all (`has_opening`): nobody reads "100.0%" beside "0.0 小时".
- A live count (the board's "away for N minutes"): whole minutes elapsed, as a clock counts, `elapsed_minutes`.

Rounding is half up on whole seconds (integer arithmetic), so the board's script, which mirrors `minute_tenths`,
gives the same figure as the server.
"""
from __future__ import annotations


def minute_tenths(seconds: int | float) -> int:
    """Seconds in tenths of a minute, half up (away from zero for a negative difference)."""
    whole = round(seconds)
    tenths = (abs(whole) + 3) // 6
    return tenths if whole >= 0 else -tenths


def minutes(seconds: int | float | None) -> float | None:
    """A report's total or longest time in minutes, one decimal: 557 s -> 9.3."""
    return None if seconds is None else minute_tenths(seconds) / 10


def minutes_change(now_seconds: int | float | None, before_seconds: int | float | None) -> float | None:
    """The change between two totals, in the same minutes as they show: 240 s against 186 s -> 4.0 - 3.1 = +0.9."""
    if now_seconds is None or before_seconds is None:
        return None
    return (minute_tenths(now_seconds) - minute_tenths(before_seconds)) / 10


def minutes_seconds(seconds: int | float) -> tuple[int, int]:
    """One absence: (whole minutes, the seconds left), 192 s -> (3, 12)."""
    whole = max(0, round(seconds))
    return whole // 60, whole % 60


def elapsed_minutes(milliseconds: int) -> int:
    """A running count: the whole minutes passed."""
    return max(0, milliseconds) // 60000


def hours(seconds: int | float | None) -> float | None:
    """Opening time in hours, one decimal, half up: 5,580 s -> 1.6."""
    return None if seconds is None else (round(seconds) + 180) // 360 / 10


def has_opening(opening_seconds: int | float | None) -> bool:
    """Whether opening time shows as more than 0.0 hours: only then is a staffed share worth a figure."""
    return bool(opening_seconds) and hours(opening_seconds) > 0
