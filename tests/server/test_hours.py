"""Opening hours: parsing what an admin types, and the staffed share of a window's opening time."""
from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.domain.hours import HoursError, dumps, format_day, loads, opening_spans, parse_day, staffed_share
from shared.timefmt import to_ms

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hh: int, mm: int = 0, month: int = 11) -> int:
    return to_ms(datetime(2026, month, day, hh, mm, tzinfo=SH))


def test_a_day_is_parsed_with_chinese_or_latin_separators():
    assert parse_day("09:00-12:00, 13:30-17:00") == [(540, 720), (810, 1020)]
    assert parse_day("13:30-17:00，9:00～12:00") == [(540, 720), (810, 1020)]
    assert parse_day("08:30至12:00、14:00-24:00") == [(510, 720), (840, 1440)]
    assert parse_day("  ") == []
    assert format_day(parse_day("9:00-12:00,13:30-17:00")) == "09:00-12:00, 13:30-17:00"


@pytest.mark.parametrize("text, says", [
    ("9-12", "不是时段"), ("09:00-25:00", "不存在"), ("09:60-10:00", "不存在"),
    ("12:00-09:00", "晚于"), ("09:00-12:00, 11:00-13:00", "重叠"),
])
def test_bad_days_are_refused_with_a_reason(text, says):
    with pytest.raises(HoursError, match=says):
        parse_day(text)


def test_a_week_survives_json():
    week = {1: [(540, 720), (810, 1020)], 6: [(540, 720)]}
    assert loads(dumps(week)) == week
    assert loads(None) == {} and loads('{"7": []}') == {}


WEEK = {day: [(540, 720), (810, 1020)] for day in range(1, 6)}  # Monday to Friday, 5.5 hours a day


def test_opening_spans_follow_the_local_calendar():
    # 2026-11-20 is a Friday: Friday's two spans, nothing on the weekend, Monday the 23rd's morning.
    spans = opening_spans(WEEK, SH, at(20, 0), at(23, 10))
    assert spans == [(at(20, 9), at(20, 12)), (at(20, 13, 30), at(20, 17)), (at(23, 9), at(23, 10))]
    assert opening_spans({}, SH, at(20, 0), at(23, 0)) == []


def test_staffed_share_takes_away_absences_within_opening_hours_only():
    day = (at(23, 0), at(24, 0))
    absences = [(at(23, 8), at(23, 9, 33)),     # 33 minutes, of which 33 after opening
                (at(23, 12), at(23, 13, 30)),  # lunch: closed, does not count
                (at(23, 16, 0), None)]         # still away at 16:30 ("now")
    share = staffed_share(WEEK, SH, *day, absences, now_ms=at(23, 16, 30))
    opening = 180 + 180  # 09:00-12:00 and 13:30-16:30 so far
    assert share == round((opening - 33 - 30) / opening, 3)


def test_overlapping_absences_count_once_and_no_opening_time_gives_none():
    absences = [(at(23, 9), at(23, 10)), (at(23, 9, 30), at(23, 10, 30))]
    assert staffed_share(WEEK, SH, at(23, 0), at(24, 0), absences, now_ms=at(23, 12)) == round(1 - 90 / 180, 3)
    assert staffed_share(WEEK, SH, at(23, 0), at(24, 0), absences, now_ms=at(23, 8)) is None
    assert staffed_share(WEEK, SH, at(21, 0), at(23, 0), [], now_ms=at(23, 12)) is None  # a weekend


def test_staffed_share_over_a_year_counts_each_absence_against_the_spans_it_reaches():
    # The sweep that pairs each opening span only with the absences reaching into it gives what every pair gives.
    rng = random.Random(5)
    start, end = at(23, 0) - 365 * 86_400_000, at(24, 0)
    absences, t = [], start
    while t < end:
        t += rng.randint(600_000, 40 * 3_600_000)
        absences.append((t, t + rng.randint(1, 5 * 3_600_000)))
    now = at(23, 16, 30)
    absences.append((now - 600_000, None))  # away now
    opening = opening_spans(WEEK, SH, start, now)
    away = sorted((a, now if b is None else b) for a, b in absences if (now if b is None else b) > a)
    merged: list[tuple[int, int]] = []
    for a, b in away:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    total = sum(b - a for a, b in opening)
    covered = sum(max(0, min(b, d) - max(a, c)) for a, b in opening for c, d in merged)
    assert staffed_share(WEEK, SH, start, end, absences, now) == round((total - covered) / total, 3)
    assert 0 < covered < total
