"""The homes of small rules that several layers share (docs/architecture.md, "Where each rule lives")."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.hours import combined_staffed_share
from server.domain.periods import add_months, month_end
from server.domain.registry import MAX_TITLE, SITE_PATTERN
from server.domain.zones import COMMON_ZONES, DEFAULT_ZONE, todays
from shared.scoring import BAD_LEVELS, DEFAULT_BAD, is_bad, lowest_levels
from shared.timefmt import DAY_MS, local_text, parse_local, to_ms

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_bad_review_is_the_national_rule_unless_an_admin_widened_it():
    assert [s for s in range(1, 6) if is_bad(s, 5)] == [1, 2]
    assert [s for s in range(1, 4) if is_bad(s, 3)] == [1]
    assert DEFAULT_BAD == {scale: lowest_levels(n) for scale, n in BAD_LEVELS.items()}
    widened = {**DEFAULT_BAD, 5: lowest_levels(3)}
    assert is_bad(3, 5, widened) and not is_bad(3, 5)


def test_a_form_time_reads_back_as_the_moment_it_shows():
    moment = to_ms(datetime(2026, 11, 23, 6, 5, tzinfo=UTC))
    assert local_text(moment, SHANGHAI, "input") == "2026-11-23T14:05"
    assert parse_local("2026-11-23T14:05", SHANGHAI) == moment
    with pytest.raises(ValueError):
        parse_local("2026-11-23 14:05", SHANGHAI)
    assert DAY_MS == to_ms(datetime(1970, 1, 2, tzinfo=UTC))


def test_months_end_and_move_by_the_calendar():
    assert month_end(date(2028, 2, 10)) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)


def test_today_differs_by_zone_around_midnight():
    now = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # 00:30 on the 24th in Shanghai
    assert todays(now, ["Asia/Shanghai", "UTC"]) == {"Asia/Shanghai": "2026-11-24", "UTC": "2026-11-23"}
    assert COMMON_ZONES[0] == DEFAULT_ZONE == "Asia/Shanghai"


def test_several_windows_staffed_share_weighs_each_by_its_opening_time():
    hour = timedelta(hours=1).total_seconds()
    assert combined_staffed_share([{"share": 1.0, "opening_seconds": 3 * hour},
                                   {"share": 0.5, "opening_seconds": hour}, None,
                                   {"share": None, "opening_seconds": hour}]) == 0.875
    assert combined_staffed_share([None, {"share": 0.5, "opening_seconds": 0}]) is None


def test_the_registry_limits():
    assert SITE_PATTERN.match("hq-2") and not SITE_PATTERN.match("HQ") and not SITE_PATTERN.match("a" * 33)
    assert MAX_TITLE == 32
