"""The shared rules of the reports: durations, the hall's clock, what a 差评 is, reason labels."""
from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from server.domain import durations
from server.domain.cases import DEFAULT_BAD, Rules
from server.domain.figures import DayRange
from server.domain.passwords import hash_password
from server.followup import cases as followup_cases
from server.followup.alerts import AlertTask
from server.ingest.ingestor import Ingestor
from server.reporting.summary import staffed
from server.store import Store
from server.store.db import open_db
from shared.contract import SCALES
from shared.scoring import is_bad

from .events import event, msg
from .web import session

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = json.dumps({str(d): [["09:00", "12:00"], ["13:30", "17:00"]] for d in range(1, 6)})


# ------------------------------------------------------------ durations
def test_totals_and_their_changes_are_minutes_with_one_decimal():
    assert durations.minutes(557) == 9.3 and durations.minutes(0) == 0.0 and durations.minutes(None) is None
    assert [durations.minute_tenths(s) for s in (2, 3, 8, 9, 59, 60)] == [0, 1, 1, 2, 10, 10]  # half up
    # "0 min" beside a change of "+0.9" was 54 s against none: now the two agree
    assert (durations.minutes(54), durations.minutes_change(54, 0)) == (0.9, 0.9)
    # the change is the difference of the figures shown, not of the seconds
    assert (durations.minutes(8), durations.minutes(3), durations.minutes_change(8, 3)) == (0.1, 0.1, 0.0)
    assert durations.minutes(8 - 3) == 0.1, "what subtracting the seconds would have shown"
    assert durations.minutes_change(240, 186) == 0.9 and durations.minutes_change(186, 240) == -0.9
    assert durations.minutes_change(None, 60) is None


def test_one_absence_keeps_its_seconds_and_opening_time_is_hours():
    assert durations.minutes_seconds(192) == (3, 12) and durations.minutes_seconds(59.6) == (1, 0)
    assert durations.hours(5580) == 1.6 and durations.hours(179) == 0.0 and durations.hours(180) == 0.1
    assert not durations.has_opening(0) and not durations.has_opening(179) and durations.has_opening(180)
    assert durations.elapsed_minutes(119_999) == 1


def test_a_staffed_share_needs_opening_time_that_shows():
    sites = {"a": ("Asia/Shanghai", WEEKDAYS)}
    monday = DayRange(date(2026, 11, 23), date(2026, 11, 23), SHANGHAI)
    nine = monday.start + 9 * 3600_000
    two_minutes = staffed(sites, "a", monday.start, monday, [], nine + 120_000)
    assert two_minutes == {"opening_seconds": 120, "share": None}, "not 100.0% beside 0.0 hours"
    assert staffed(sites, "a", monday.start, monday, [], nine + 180_000) == {"opening_seconds": 180, "share": 1.0}


# ------------------------------------------------------------ 差评: one definition
def test_a_bad_review_is_the_national_bottom_two_of_five_everywhere():
    for scale in SCALES:
        assert {s for s in range(1, scale + 1) if is_bad(s, scale)} == set(DEFAULT_BAD[scale])
    assert [s for s in range(1, 6) if is_bad(s, 5)] == [1, 2]  # 非常不满意, 不满意; 基本满意 is none


def rate(store, clock, scores, window="w01", reasons=None):
    base = len(store.db.execute("SELECT 1 FROM ratings").fetchall())
    messages = [msg(event(base + n, stream=f"stream-{window}", window=window, score=score,
                          ts=clock.now().astimezone(SHANGHAI).isoformat(timespec="milliseconds"),
                          **({"reasons": reasons} if reasons else {})), device=f"k-{window}")
                for n, score in enumerate(scores, 1)]
    Ingestor(store, clock).handle(messages)


def test_the_bad_review_alert_counts_what_opens_a_case(store, clock):
    store.alerts.create_alert_rule(None, "unsatisfied", {"minutes": 15, "min_ratings": 4, "share": 0.5})
    rate(store, clock, (3, 3, 3, 1))  # three 基本满意 and one 差评: a quarter, no alert (it was "4 of 4")
    AlertTask().run(store, clock.now())
    assert store.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM cases").fetchone()[0] == 1
    followup_cases.set_case_rules(store, Rules({**Rules().bad, 5: frozenset({1, 2, 3})}))  # a locality that counts 基本满意 too
    AlertTask().run(store, clock.now())
    [message] = [r[0] for r in store.db.execute("SELECT message FROM alerts")]
    assert "4 条评价中 4 条差评" in message


# ------------------------------------------------------------ pages: durations, reason labels, the hall's clock
@pytest.fixture
def hall(app, clock):
    """w01 in a site open on weekdays; today (Monday 23 November, 14:00) w01 was away 09:00:00-09:00:54 and
    09:30:00-09:33:12, and was rated with a custom reason that a later config removed."""
    store = Store(open_db(app.config["DATABASE"]))
    store.registry.create_site("a", "A 厅", "Asia/Shanghai", WEEKDAYS, True)
    store.registry.create_window("w01", "1号窗口", "a")
    store.registry.update_window_kiosk("w01", "1号窗口", None, json.dumps(
        {"reasons": [{"code": "queue", "label": "排队太久", "label_en": "Queue too long"},
                     {"code": "slow", "label": "办理时间长"}, {"code": "rude", "label": "不礼貌"}]}))
    spans = [("09:00:00", "present"), ("09:00:00.5", "away"), ("09:00:54.5", "present"),
             ("09:30:00", "away"), ("09:33:12", "present")]
    events = [event(n, type="presence", stream="stream-w01", state=state, staff="1024",
                    ts=f"2026-11-23T{t if '.' in t else t + '.0'}00+08:00") for n, (t, state) in enumerate(spans, 1)]
    events.append(event(6, stream="stream-w01", score=1, reasons=["queue", "slow", "rude", "gone"],
                        ts="2026-11-23T10:00:00.000+08:00"))
    Ingestor(store, clock).handle([msg(e, device="k-w01") for e in events])
    store.registry.update_window_kiosk("w01", "1号窗口", None, json.dumps({"reasons": [{"code": "slow", "label": "办理时间长"}]}))
    store.accounts.create_user("boss", hash_password("boss pass"), "admin", None, 0)
    store.db.close()


def test_the_window_report_shows_durations_in_one_unit(app, hall):
    boss, _ = session(app, "boss", "boss pass")
    page = boss.get("/windows/w01?from=2026-11-23&to=2026-11-23").get_data(as_text=True)
    assert "共 4.1 分钟，最长 3.2 分钟" in page  # 54 s + 192 s; was "共 4 分，最长 3 分"
    assert "0 分 54 秒" in page and "3 分 12 秒" in page  # each absence to the second
    assert "开放 3.5 小时" in page
    board = boss.get("/").get_data(as_text=True)
    assert '<td class="absent">4.1 分钟</td>' in board


def test_reasons_show_their_labels_ever_configured_in_the_readers_language(app, hall):
    boss, _ = session(app, "boss", "boss pass")
    reasons = boss.get("/windows/w01?from=2026-11-23&to=2026-11-23").get_data(as_text=True).split(
        'id="reasons"')[1].split("</table>")[0]
    assert "排队太久" in reasons and "不礼貌" in reasons and "办理时间长" in reasons, "removed ones keep their label"
    assert "queue" not in reasons and "gone" in reasons  # a code no config ever named shows as it is
    boss.get("/lang/en")
    english = boss.get("/windows/w01?from=2026-11-23&to=2026-11-23").get_data(as_text=True).split(
        'id="reasons"')[1].split("</table>")[0]
    assert "Queue too long" in english and "不礼貌" in english and "办理时间长" not in english


def test_the_reason_labels_of_configs_saved_before_the_migration_are_kept(app, hall):
    path = app.config["DATABASE"]
    db = open_db(path)
    with db.conn:
        db.execute("DROP TABLE reason_labels")
        db.execute("DROP TRIGGER windows_reason_labels_insert")
        db.execute("DROP TRIGGER windows_reason_labels_update")
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm017_reason_labels'")
        db.execute("UPDATE windows SET config = 'not json' WHERE window = 'w01'")  # a broken one is passed over
        db.execute("INSERT INTO windows (window, title, config) VALUES "
                   "('w02', '2号窗口', '{\"reasons\": [{\"code\": \"cold\", \"label\": \"大厅太冷\"}, \"junk\"]}')")
    db.close()
    assert Store(open_db(path)).reason_labels.reason_labels() == {"cold": ("大厅太冷", None)}


def test_the_boards_clock_is_the_halls(app, hall):
    boss, _ = session(app, "boss", "boss pass")
    assert '<span id="updated" class="none">14:00:00</span>' in boss.get("/").get_data(as_text=True)
    assert boss.get("/board.json").json["updated"] == "14:00:00"  # 06:00 UTC in Shanghai, 24-hour
    public = app.test_client()
    assert public.get("/public/a.json").json["updated"] == "14:00:00"
    assert '<span id="updated">14:00:00</span>' in public.get("/public/a").get_data(as_text=True)


def test_a_case_shows_the_reasons_labels_ever_configured_not_the_built_in_ones(app, hall):
    boss, _ = session(app, "boss", "boss pass")
    page = boss.get("/cases/1").get_data(as_text=True)
    assert "排队太久" in page and "不礼貌" in page, "a custom reason shows its configured label, not its code"
    assert ">queue<" not in page and ">rude<" not in page
    boss.get("/lang/en")
    assert "Queue too long" in boss.get("/cases/1").get_data(as_text=True)
