"""Local times in the hall's zone, 24-hour, from the one formatter (shared.timefmt.local_text) on every page,
message and export (issue 12). The clock stands at 06:00 UTC: 14:00 in Shanghai, 02:00 PM in no page."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from server.domain import gbt39046
from server.domain.passwords import hash_password
from server.followup.delivery import alert_text
from shared.timefmt import local_text, to_ms

from .conftest import NOW
from .web import As

SHANGHAI = ZoneInfo("Asia/Shanghai")
AFTERNOON = to_ms(NOW) + 5 * 60_000 + 7_000  # 14:05:07 in Shanghai


def test_the_formatter_writes_the_halls_wall_clock_in_24_hours():
    assert local_text(AFTERNOON, SHANGHAI) == "2026-11-23 14:05:07"
    assert local_text(AFTERNOON, SHANGHAI, "minute") == "2026-11-23 14:05"
    assert local_text(AFTERNOON, SHANGHAI, "day_minute") == "11-23 14:05"
    assert local_text(AFTERNOON, SHANGHAI, "clock") == "14:05:07"
    assert local_text(AFTERNOON, ZoneInfo("Europe/Berlin")) == "2026-11-23 07:05:07"
    assert local_text(None, SHANGHAI) == "" and local_text(None, SHANGHAI, none="—") == "—"


def test_alert_messages_and_the_national_export_use_it():
    alert = {"kind": "offline", "message": "窗口 w01 的评价器离线", "first_at": to_ms(NOW), "last_at": AFTERNOON,
             "count": 2}
    assert "首次：2026-11-23 14:00　最近：2026-11-23 14:05　累计：2 次" in alert_text(alert, SHANGHAI)
    rating = {"score": 2, "scale": 5, "site": None, "case_no": "C1", "at": AFTERNOON, "text": None,
              "window": "w01", "staff": "1046", "appeal": None, "event_id": "e1"}
    record = gbt39046.record(rating, {"channel": "窗口", "channel_code": "1", "area_code": "110000"}, SHANGHAI)
    assert record.time == "2026-11-23 14:05:07"


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.accounts.create_user("root", hash_password("password 123"), "admin", None, 0)


def test_pages_show_times_in_the_halls_zone(app, store, clock):
    store.accounts.create_token("reports", to_ms(NOW))
    root = As(app, "root")
    assert "2026-11-23 14:00" in root.get("/admin/tokens").get_data(as_text=True)
    store.ingest.seen_device("k1", AFTERNOON)
    row = root.get("/fleet").get_data(as_text=True).split('<tr data-device="k1"')[1].split("</tr>")[0]
    assert "2026-11-23 14:05:07" in row


def test_the_devices_page_shows_never_for_a_kiosk_never_heard_from(app, store):
    store.ingest.register_device("k1", "w01", to_ms(NOW))  # `ceval device add`, before the kiosk connects
    root = As(app, "root")
    row = root.get("/admin/devices").get_data(as_text=True).split('data-device="k1"')[1].split("</tr>")[0]
    assert "从未" in row and "2026-11-23 14:00" not in row
    store.ingest.seen_device("k1", AFTERNOON)
    row = root.get("/admin/devices").get_data(as_text=True).split('data-device="k1"')[1].split("</tr>")[0]
    assert "2026-11-23 14:05" in row and "从未" not in row
