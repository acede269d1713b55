"""The working-day calendar: official holidays and make-up days from chinese_calendar, the admin's
corrections on top, and Monday–Friday for a year with no official data."""
from __future__ import annotations

from datetime import date

import pytest

from server.domain.workdays import Calendar, Correction, parse_holiday_file


@pytest.fixture
def calendar():
    return Calendar()


def test_spring_festival_2026_is_off_and_its_make_up_saturdays_are_working_days(calendar):
    # 春节 2026: 15–23 February off; Saturday 14 and Saturday 28 February are make-up working days (调休)
    assert all(not calendar.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert date(2026, 2, 14).weekday() == 5 and calendar.is_working_day(date(2026, 2, 14))
    assert date(2026, 2, 28).weekday() == 5 and calendar.is_working_day(date(2026, 2, 28))
    assert calendar.is_working_day(date(2026, 2, 13)) and calendar.is_working_day(date(2026, 2, 24))
    assert not calendar.is_working_day(date(2026, 3, 1))  # an ordinary Sunday


@pytest.mark.parametrize("opened, n, due", [
    # a bad review on Friday 13 Feb: Sat 14 (调休) is day 1, then the holiday, Tue 24 .. Thu 26 are 2..4, Fri 27 is 5
    (date(2026, 2, 13), 5, date(2026, 2, 27)),
    (date(2026, 2, 13), 1, date(2026, 2, 14)),
    # given on the make-up Saturday itself: the count starts after it: 24, 25, 26, 27, 28 (Sat), then Mon 2 Mar
    (date(2026, 2, 14), 5, date(2026, 2, 28)),
    (date(2026, 2, 14), 6, date(2026, 3, 2)),
    # Thu 12 Feb, 7 working days: Fri 13, Sat 14, Tue 24, Wed 25, Thu 26, Fri 27, Sat 28 (调休)
    (date(2026, 2, 12), 7, date(2026, 2, 28)),
    # given during the holiday: 24, 25, 26, 27, 28 (Sat, 调休)
    (date(2026, 2, 17), 5, date(2026, 2, 28)),
    # 15 working days from the holiday's eve: 14, 24–28 (6), 2–6 Mar (11), 9–12 Mar (15)
    (date(2026, 2, 13), 15, date(2026, 3, 12)),
])
def test_deadlines_around_spring_festival_2026(calendar, opened, n, due):
    assert calendar.add_working_days(opened, n) == due


def test_national_day_2026_is_off_with_its_make_up_saturday(calendar):
    # 国庆 2026: 1–7 October off; Saturday 10 October is the make-up working day, per the package's data
    assert all(not calendar.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert date(2026, 10, 10).weekday() == 5 and calendar.is_working_day(date(2026, 10, 10))
    assert not calendar.is_working_day(date(2026, 10, 11))  # Sunday
    # 30 Sep: 8, 9, 10 (Sat, 调休), 12, 13
    assert calendar.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    # Mon 28 Sep, 7 days: 29, 30, 8, 9, 10, 12, 13
    assert calendar.add_working_days(date(2026, 9, 28), 7) == date(2026, 10, 13)


def test_the_count_starts_the_day_after(calendar):
    # an ordinary week: Monday 23 Nov 2026 -> 5 working days later is Monday 30 Nov
    assert calendar.add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)
    assert calendar.add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # from a Saturday
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 11, 23), 0)


def test_the_admins_corrections_override_the_package():
    calendar = Calendar([Correction(date(2026, 2, 28), "off", "调休取消"),
                         Correction(date(2026, 11, 28), "work", "年终加班")])
    assert not calendar.is_working_day(date(2026, 2, 28))
    assert calendar.is_working_day(date(2026, 11, 28))
    # Thu 12 Feb, 7 working days without the 28th: ... Fri 27, then Mon 2 Mar
    assert calendar.add_working_days(date(2026, 2, 12), 7) == date(2026, 3, 2)
    assert calendar.add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 28)
    days = {d.day: d for d in calendar.year(2026)}
    assert days[date(2026, 2, 28)].source == "correction" and days[date(2026, 2, 28)].package_working is True
    assert days[date(2026, 2, 16)].source == "package" and days[date(2026, 2, 16)].name == "春节"
    assert days[date(2026, 10, 10)].name == "国庆节" and days[date(2026, 10, 10)].working


def test_from_table_rows():
    calendar = Calendar.from_rows([{"day": "2026-05-06", "kind": "off", "name": "本地假日"}])
    assert not calendar.is_working_day(date(2026, 5, 6))


def test_2027_falls_back_to_monday_to_friday_and_says_so(calendar):
    assert calendar.has_official(2026) and not calendar.has_official(2027)
    assert calendar.fallback_years(date(2026, 12, 28), date(2027, 1, 8)) == [2027]
    assert calendar.is_working_day(date(2027, 1, 1))  # New Year's Day, but no official data yet: a Friday
    assert not calendar.is_working_day(date(2027, 1, 2))
    # Thu 31 Dec 2026 (2026 has data; 1 Jan 2026 was off, 1 Jan 2027 unknown): 1, 4, 5, 6, 7 Jan
    assert calendar.add_working_days(date(2026, 12, 31), 5) == date(2027, 1, 7)
    days = calendar.year(2027)
    assert len(days) == 365 and {d.source for d in days} == {"weekdays"}
    # once the admin records New Year's Day, the deadline moves
    corrected = Calendar([Correction(date(2027, 1, 1), "off", "元旦")])
    assert corrected.add_working_days(date(2026, 12, 31), 5) == date(2027, 1, 8)
    assert not corrected.has_official(2027)


def test_a_holiday_file_is_parsed_and_its_errors_are_located():
    text = "\ufeff# 2027\n2027-01-01,off,元旦\n\n2027-02-06,work,春节调休\n2027-02-07,work\n"
    corrections, errors = parse_holiday_file(text.lstrip("\ufeff"))
    assert errors == []
    assert corrections == [Correction(date(2027, 1, 1), "off", "元旦"), Correction(date(2027, 2, 6), "work", "春节调休"),
                           Correction(date(2027, 2, 7), "work", "")]
    bad = ("2027-13-01,off,x\n2027-01-02,holiday,x\n2027-1-3,off,x\n2027-01-04,off,a,b\n"
           "2027-01-01,off\n2027-01-01,work\n")
    _, errors = parse_holiday_file(bad)
    assert errors == [(1, "date"), (2, "kind"), (3, "date"), (4, "fields"), (6, "twice")]


def test_a_correction_of_another_kind_is_refused():
    with pytest.raises(ValueError):
        Correction(date(2027, 1, 1), "holiday")
