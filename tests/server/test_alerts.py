"""Alert rules on hand-built data at a fake time; merging; deliveries with their rate limit, retries and
failures; the alert pages."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from server.domain import hours
from server.domain.passwords import hash_password
from server.followup.alerts import (
    MINUTE,
    AlertTask,
    Facts,
    ParamError,
    evaluate,
    opening_since,
    parse_params,
    raise_alerts,
)
from server.followup.delivery import DeliveryError, DeliveryTask, Hopeless, Sender, backoff_ms, dingtalk_url
from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.clock import FakeClock
from shared.timefmt import format_ts, to_ms

from ..helpers import query_plan, traced
from ..receivers import WebhookReceiver
from .events import event, msg
from .web import session

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday 14:00 in Shanghai


class Hall:
    """Kiosks reporting through the real Ingestor, at the fake clock's time."""

    def __init__(self, store: Store, clock: FakeClock):
        self.store, self.clock = store, clock
        self.ingest = Ingestor(store, clock, gap_timeout=600)
        self.seqs: dict[str, int] = {}

    def send(self, window: str = "w01", device: str = "k1", seq: int | None = None, **fields) -> None:
        stream = f"stream-{device}"
        seq = seq if seq is not None else self.seqs.get(stream, 0) + 1
        self.seqs[stream] = max(seq, self.seqs.get(stream, 0))
        ts = format_ts(self.clock.now().astimezone(SHANGHAI))
        self.ingest.handle([msg(event(seq, stream=stream, window=window, ts=ts, **fields), device=device)])

    def rate(self, score: int, window: str = "w01", device: str = "k1", scale: int = 5, seq: int | None = None):
        self.send(window, device, seq, score=score, scale=scale)

    def presence(self, state: str, window: str = "w01", device: str = "k1", staff: str | None = "1024") -> None:
        self.send(window, device, type="presence", state=state, **({"staff": staff} if staff else {}))

    def status(self, online: bool, device: str = "k1", window: str = "w01") -> None:
        self.ingest.handle([msg({"v": 1, "online": online, "window": window}, device=device, kind="status")])


@pytest.fixture
def hall(store, clock):
    return Hall(store, clock)


def run(store, clock, task=None):
    (task or AlertTask()).run(store, clock.now())


def alerts(store):
    return [dict(r) for r in store.db.query("SELECT kind, window, device, site, count, key, message FROM alerts "
                                            "ORDER BY id")]


def deliveries(store):
    return store.db.execute("SELECT alert_id, target_id, status FROM deliveries ORDER BY id").fetchall()


# ---------------------------------------------------------------- parameters
def test_parameters_take_defaults_and_refuse_what_is_out_of_range():
    assert parse_params("unsatisfied", {}) == {"minutes": 15, "min_ratings": 4, "share": 0.5}
    assert parse_params("unsatisfied", {"minutes": "30", "min_ratings": "6", "share": "60%"}) == {
        "minutes": 30, "min_ratings": 6, "share": 0.6}
    for kind, form in [("unsatisfied", {"share": "150"}), ("unsatisfied", {"min_ratings": "2.5"}),
                       ("absence", {"minutes": "0"}), ("offline", {"minutes": "ten"}), ("nope", {})]:
        with pytest.raises(ParamError):
            parse_params(kind, form)


# ---------------------------------------------------------------- unsatisfied
def test_half_of_at_least_four_ratings_unsatisfied_in_15_minutes_raises_one_alert(store, hall, clock):
    store.alerts.create_alert_rule(None, "unsatisfied", {"minutes": 15, "min_ratings": 4, "share": 0.5})
    target = store.alerts.create_alert_target(None, "webhook", "http://127.0.0.1:9/hook")
    for score in (1, 5, 2):
        hall.rate(score)
        clock.advance(60)
    run(store, clock)
    assert alerts(store) == [], "three ratings are fewer than four"
    hall.rate(3)  # 基本满意 is no 差评: 2 of 4 are, half
    run(store, clock)
    [alert] = alerts(store)
    assert (alert["kind"], alert["window"], alert["count"]) == ("unsatisfied", "w01", 1)
    assert "4 条评价中 2 条差评" in alert["message"]
    assert deliveries(store) == [(1, target, "pending")]
    clock.advance(10)
    run(store, clock)
    assert alerts(store)[0]["count"] == 1, "the same ratings are not counted into the alert again"


def test_the_recent_ratings_are_read_window_by_window_not_by_a_scan_of_every_rating(store, hall, clock):
    hall.rate(1, window="w01")
    hall.rate(5, window="w02", device="k2")
    now = to_ms(clock.now())
    with traced(store) as statements:
        assert sorted(store.alerts.ratings_between(now - 60_000, now)) == [("w01", now, 1, 5), ("w02", now, 5, 5)]
        assert store.alerts.ratings_between(now + 1, now + 60_000) == []
    plan = query_plan(store, statements[0])
    assert "SEARCH r USING COVERING INDEX ratings_window_at (window=? AND at>? AND at<?)" in plan, plan


def test_when_a_window_last_fired_is_looked_up_by_its_key_not_by_reading_every_alert(store, clock):
    now = to_ms(clock.now())
    for key, at in [("unsatisfied:1:w01", now - 5), ("unsatisfied:1:w01", now - 9), ("unsatisfied:2:w01", now - 7),
                    ("absence:0:w01", now)]:
        store.alerts.insert_alert(None, key.split(":")[0], None, "w01", None, key, "x", at)
    assert store.alerts.last_fired(["unsatisfied:1:w01", "unsatisfied:1:w02", "unsatisfied:2:w01"]) == {
        "unsatisfied:1:w01": now - 5, "unsatisfied:2:w01": now - 7}
    assert store.alerts.last_fired([]) == {}
    with traced(store) as statements:
        store.alerts.last_fired(["unsatisfied:1:w01"])
    plan = query_plan(store, statements[0])
    assert "SEARCH alerts USING COVERING INDEX alerts_key (key=?)" in plan and "SCAN alerts" not in plan, plan


def test_an_unconfirmed_kiosk_offline_is_found_at_the_window_naming_it_by_index(store):
    store.ingest.seen_device("k-new", 1_000)  # heard from once, never confirmed: no window of its own
    store.ingest.ensure_window("w07", "k-new")
    with traced(store) as statements:
        assert ("k-new", "w07", None, 1_000) in store.alerts.offline_kiosks()
    plan = query_plan(store, statements[0])
    assert "USING COVERING INDEX windows_device (device=?)" in plan and "SCAN n" not in plan, plan


def test_each_rule_counts_its_sites_windows_ratings_of_its_span_after_its_last_alert():
    now = 1_000 * MINUTE
    rated = {"w01": [(now - 20 * MINUTE, 1, 5), (now - 10 * MINUTE, 1, 5), (now - 5 * MINUTE, 2, 5), (now, 1, 5)],
             "w02": [(now - 16 * MINUTE, 1, 5), (now - 14 * MINUTE, 1, 5), (now - 13 * MINUTE, 1, 5)],
             "w03": [(now - 12 * MINUTE, 1, 5), (now - 1, 2, 5)]}
    facts = Facts(now, window_site={"w01": "east", "w02": "east", "w03": "west"}, ratings=rated,
                  last_fired={"unsatisfied:1:w01": now - 5 * MINUTE})
    rule = {"id": 1, "kind": "unsatisfied", "site": "east", "params": {"minutes": 15, "min_ratings": 1, "share": 1}}
    conditions = evaluate([rule], facts)
    # w02 first (its first rating counted is the earliest); w01 only its rating after the alert at now - 5 min
    # (the one at that very moment was counted into it); w02 not its rating of 16 minutes ago; w03 is another site's
    assert [(c.window, c.since) for c in conditions] == [("w02", now - 14 * MINUTE), ("w01", now)]
    assert "2 条评价中 2 条差评" in str(conditions[0].message) and "1 条评价中 1 条差评" in str(conditions[1].message)


def test_a_mostly_satisfied_window_and_old_ratings_raise_nothing(store, hall, clock):
    store.alerts.create_alert_rule(None, "unsatisfied", {})
    for score in (5, 4, 5, 1):  # one in four
        hall.rate(score)
    run(store, clock)
    assert alerts(store) == []
    for score in (1, 1):        # now three bad of six: half
        hall.rate(score, window="w02", device="k2")
    clock.advance(16 * 60)      # ... but fifteen minutes later they are history
    hall.rate(1, window="w02", device="k2")
    hall.rate(2, window="w02", device="k2")
    run(store, clock)
    assert alerts(store) == []


def test_a_rule_of_one_site_watches_only_that_sites_windows(store, hall, clock):
    store.registry.create_site("hq", "总部大厅", "Asia/Shanghai", "{}", False)
    store.registry.create_site("east", "东区大厅", "Asia/Shanghai", "{}", False)
    for window in ("w01", "w02"):
        store.registry.create_window(window, None, "hq" if window == "w01" else "east")
    rule = store.alerts.create_alert_rule("east", "unsatisfied", {"min_ratings": 2})
    hq = store.alerts.create_alert_target("hq", "webhook", "http://127.0.0.1:9/hq")
    everywhere = store.alerts.create_alert_target(None, "email", "boss@example.com")
    east = store.alerts.create_alert_target("east", "wecom", "http://127.0.0.1:9/east")
    for window, device in (("w01", "k1"), ("w02", "k2")):
        hall.rate(1, window, device)
        hall.rate(1, window, device)
    run(store, clock)
    [alert] = alerts(store)
    assert (alert["window"], alert["site"], alert["key"]) == ("w02", "east", f"unsatisfied:{rule}:w02")
    assert sorted(t for _, t, _ in deliveries(store)) == sorted([everywhere, east])
    assert hq not in [t for _, t, _ in deliveries(store)]


# ---------------------------------------------------------------- merging
def test_the_same_condition_twice_gives_one_alert_counted_twice_and_sent_once(store, hall, clock):
    store.alerts.create_alert_rule(None, "unsatisfied", {})
    store.alerts.create_alert_target(None, "webhook", "http://127.0.0.1:9/hook")
    task = AlertTask(merge_minutes=30, repeat_minutes=30)
    for _ in range(4):
        hall.rate(1)
    run(store, clock, task)
    clock.advance(120)
    for _ in range(3):
        hall.rate(2)
    run(store, clock, task)
    assert alerts(store)[0]["count"] == 1, "three new ratings are not yet the condition again"
    hall.rate(1)
    run(store, clock, task)
    [alert] = alerts(store)
    assert alert["count"] == 2
    assert len(deliveries(store)) == 1, "no second send while the first is pending or recent"

    # acknowledged: a repeat within the merge period reopens the same alert ...
    store.alerts.ack_alert(1, "boss", to_ms(clock.now()))
    clock.advance(60)
    for _ in range(4):
        hall.rate(1)
    run(store, clock, task)
    row = store.alerts.alert(1)
    assert (row["count"], row["acked_at"], row["acked_by"]) == (3, None, None)
    assert len(alerts(store)) == 1

    # ... and after it, a new alert
    store.alerts.ack_alert(1, "boss", to_ms(clock.now()))
    clock.advance(31 * 60)
    for _ in range(4):
        hall.rate(1)
    run(store, clock, task)
    assert [a["count"] for a in alerts(store)] == [3, 1]
    assert len(deliveries(store)) == 2


def test_a_merged_alert_is_sent_again_once_the_last_send_is_old(store, hall, clock):
    store.alerts.create_alert_rule(None, "absence", {"minutes": 10})
    store.alerts.create_alert_target(None, "webhook", "http://127.0.0.1:9/hook")
    task = AlertTask(repeat_minutes=30)
    sends = DeliveryTask(lambda *a: None)
    hall.presence("away")
    clock.advance(11 * 60)
    run(store, clock, task)
    sends.run(store, clock.now())
    hall.presence("present")
    clock.advance(60)
    hall.presence("away")
    clock.advance(11 * 60)
    run(store, clock, task)
    assert alerts(store)[0]["count"] == 2 and len(deliveries(store)) == 1, "sent 12 minutes ago: not again"
    hall.presence("present")
    clock.advance(30 * 60)
    hall.presence("away")
    clock.advance(11 * 60)
    run(store, clock, task)
    assert alerts(store)[0]["count"] == 3 and len(deliveries(store)) == 2


# ---------------------------------------------------------------- absence, unstaffed, offline, gap
def test_an_absence_longer_than_the_limit_raises_one_alert(store, hall, clock):
    store.alerts.create_alert_rule(None, "absence", {"minutes": 15})
    hall.presence("present")
    hall.presence("away")
    clock.advance(14 * 60)
    run(store, clock)
    assert alerts(store) == []
    clock.advance(61)
    run(store, clock)
    clock.advance(60)
    run(store, clock)
    [alert] = alerts(store)
    assert alert["count"] == 1 and "离岗已 15 分钟" in alert["message"]


def test_a_window_without_anyone_during_opening_hours(store, hall, clock):
    week = {1: [(9 * 60, 12 * 60), (12 * 60, 17 * 60)]}  # Monday 09:00-17:00 in two adjoining spans
    store.registry.create_site("hq", "总部大厅", "Asia/Shanghai", hours.dumps(week), False)
    for window in ("w01", "w02", "w03", "w04"):
        store.registry.create_window(window, None, "hq")
    store.alerts.create_alert_rule("hq", "unstaffed", {"minutes": 10})
    task = AlertTask()
    hall.presence("present", "w01", "k1")                # serving
    hall.presence("away", "w02", "k2")                   # away since 14:00
    hall.presence("present", "w03", "k3", staff=None)    # nobody signed in
    hall.presence("present", "w04", "k4")
    for n in (1, 2, 3):
        hall.status(True, f"k{n}", f"w0{n}")
    hall.status(False, "k4", "w04")                      # its kiosk offline since 14:00
    run(store, clock, task)
    clock.advance(9 * 60)
    run(store, clock, task)
    assert alerts(store) == []
    clock.advance(60)
    run(store, clock, task)
    found = {a["window"]: a["message"] for a in alerts(store)}
    assert sorted(found) == ["w02", "w03", "w04"]
    assert "离岗" in found["w02"] and "无人签到" in found["w03"] and "评价器离线" in found["w04"]

    # after closing time nobody is expected
    assert opening_since(week, SHANGHAI, to_ms(datetime(2026, 11, 23, 17, 30, tzinfo=SHANGHAI))) is None
    assert opening_since(week, SHANGHAI, to_ms(datetime(2026, 11, 23, 13, 0, tzinfo=SHANGHAI))) == to_ms(
        datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))


def test_closed_hours_and_sites_without_hours_raise_nothing(store, hall, clock):
    store.registry.create_site("sat", "周六大厅", "Asia/Shanghai", hours.dumps({6: [(540, 1020)]}), False)
    store.registry.create_site("none", "未设时间", "Asia/Shanghai", "{}", False)
    store.registry.create_window("w01", None, "sat")
    store.registry.create_window("w02", None, "none")
    store.alerts.create_alert_rule(None, "unstaffed", {"minutes": 1})
    hall.presence("away", "w01", "k1")
    hall.presence("away", "w02", "k2")
    clock.advance(3600)
    run(store, clock)
    assert alerts(store) == []


def test_an_offline_kiosk_and_a_gap_in_its_stream(store, hall, clock):
    store.alerts.create_alert_rule(None, "offline", {"minutes": 10})
    store.alerts.create_alert_rule(None, "gap", {"minutes": 5})
    hall.rate(5, device="k1", seq=1)
    hall.rate(5, device="k1", seq=3)   # seq 2 missing
    hall.status(False, "k1")
    clock.advance(4 * 60)
    run(store, clock)
    assert alerts(store) == []
    clock.advance(61)
    run(store, clock)
    [gap] = alerts(store)
    assert gap["kind"] == "gap" and gap["device"] == "k1" and "自第 2 号起缺少事件" in gap["message"]
    clock.advance(5 * 60)
    run(store, clock)
    assert [(a["kind"], a["count"]) for a in alerts(store)] == [("gap", 1), ("offline", 1)]
    assert "离线已 10 分钟" in alerts(store)[1]["message"]
    # the collector gives up on seq 2: the loss is told as the same gap alert, counted again
    clock.advance(600)
    hall.rate(5, device="k1", seq=4)
    run(store, clock)
    assert [(a["kind"], a["count"]) for a in alerts(store)] == [("gap", 2), ("offline", 1)]
    assert "丢失事件 2-2" in alerts(store)[0]["message"]


def test_disabled_rules_raise_nothing(store, hall, clock):
    rule = store.alerts.create_alert_rule(None, "absence", {"minutes": 1})
    store.alerts.update_alert_rule(rule, {"minutes": 1}, enabled=False)
    hall.presence("away")
    clock.advance(600)
    run(store, clock)
    assert alerts(store) == []


# ---------------------------------------------------------------- deliveries
class Recorder:
    """A send that behaves: keeps what went where; addresses in `failing` fail."""

    def __init__(self, failing=()):
        self.sent: list[tuple[str, str, int]] = []
        self.failing = set(failing)

    def __call__(self, kind, address, alert, now):
        if address in self.failing:
            raise DeliveryError("HTTP 503 Service Unavailable")
        self.sent.append((kind, address, alert["alert_id"]))


def _alerts(store, clock, n, site=None):
    now = to_ms(clock.now())
    ids = []
    for i in range(n):
        alert = store.alerts.insert_alert(None, "absence", site, f"w{i:02d}", None, f"absence:0:w{i:02d}", "离岗", now)
        store.alerts.enqueue_deliveries(alert, site, now)
        ids.append(alert)
    return ids


def test_a_target_gets_at_most_its_rate_and_the_rest_wait(store, clock):
    store.alerts.create_alert_target(None, "webhook", "http://a/")
    _alerts(store, clock, 5)
    send = Recorder()
    task = DeliveryTask(send, per_minute=2)
    assert task.run(store, clock.now()) == {"sent": 2, "retry": 0, "failed": 0, "postponed": 3}
    clock.advance(30)
    assert task.run(store, clock.now())["sent"] == 0
    clock.advance(30)
    assert task.run(store, clock.now())["sent"] == 2
    clock.advance(60)
    task.run(store, clock.now())
    assert [a for _, _, a in send.sent] == [1, 2, 3, 4, 5], "every alert once, in order"


def test_a_run_reads_each_targets_recent_sends_once_and_by_index(store, clock):
    for address in ("http://a/", "http://b/"):
        store.alerts.create_alert_target(None, "webhook", address)
    _alerts(store, clock, 6)
    with traced(store) as statements:
        assert DeliveryTask(Recorder(), per_minute=100).run(store, clock.now())["sent"] == 12
    recent = [s for s in statements if s.startswith("SELECT sent_at FROM deliveries")]
    assert len(recent) == 2, "one look at each target's last minute, not one for each of its 6 deliveries"
    _uses_index(store, recent[0], "deliveries_sent")
    _uses_index(store, "SELECT max(coalesce(sent_at, next_at)) FROM deliveries WHERE alert_id = 1",
                "deliveries_alert")  # last_notice, when an alert is merged


def _uses_index(store, sql, index):
    plan = query_plan(store, sql)
    assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan, plan


def test_a_failing_target_is_retried_with_backoff_and_does_not_stop_the_others(store, clock):
    bad = store.alerts.create_alert_target(None, "wecom", "http://down/")
    good = store.alerts.create_alert_target(None, "email", "ok@example.com")
    _alerts(store, clock, 2)
    send = Recorder(failing={"http://down/"})
    task = DeliveryTask(send, max_attempts=3)
    assert task.run(store, clock.now()) == {"sent": 2, "retry": 1, "failed": 0, "postponed": 0}
    assert [(k, a) for k, a, _ in send.sent] == [("email", "ok@example.com")] * 2
    row = store.db.execute("SELECT attempts, last_error, next_at FROM deliveries WHERE target_id = ? "
                           "AND attempts > 0", (bad,)).fetchone()
    assert row == (1, "HTTP 503 Service Unavailable", to_ms(clock.now()) + 30_000)
    clock.advance(29)
    assert task.run(store, clock.now())["retry"] == 0, "not before its time"
    clock.advance(1)
    task.run(store, clock.now())
    clock.advance(60)
    task.run(store, clock.now())
    assert backoff_ms(1) == 30_000 and backoff_ms(2) == 60_000 and backoff_ms(20) == 3_600_000
    statuses = store.db.execute("SELECT target_id, status, attempts FROM deliveries ORDER BY id").fetchall()
    assert (bad, "failed", 3) in statuses, "given up after its last attempt"
    assert [s for t, s, _ in statuses if t == good] == ["sent", "sent"]
    send.failing.clear()
    clock.advance(3600)
    task.run(store, clock.now())
    assert sum(1 for _, s, _ in store.db.execute("SELECT target_id, status, attempts FROM deliveries")
               if s == "sent") == 3, "the second alert's delivery to the mended target went through"


def test_email_without_smtp_settings_fails_at_once_with_a_clear_reason(store, clock):
    store.alerts.create_alert_target(None, "email", "boss@example.com")
    _alerts(store, clock, 1)
    DeliveryTask(Sender(None, SHANGHAI)).run(store, clock.now())
    assert store.db.execute("SELECT status, attempts, last_error FROM deliveries").fetchone() == (
        "failed", 1, "未配置 SMTP 服务器（CEVAL_SMTP_HOST），无法发送邮件")


def test_webhook_and_robot_formats_reach_a_local_receiver(store, clock):
    with WebhookReceiver() as receiver:
        for kind in ("webhook", "wecom", "dingtalk"):
            store.alerts.create_alert_target(None, kind, receiver.url(f"/{kind}"))
        store.registry.create_window("w00", "社保窗口", None)
        [alert] = _alerts(store, clock, 1)
        assert DeliveryTask(Sender(None, SHANGHAI)).run(store, clock.now())["sent"] == 3
        got = dict(receiver.received)
    assert got["/webhook"]["alert"] | {"text": ""} == {
        "id": alert, "kind": "absence", "site": None, "window": "w00", "title": "社保窗口", "device": None,
        "message": "离岗", "first_at": "2026-11-23T14:00:00.000+08:00", "last_at": "2026-11-23T14:00:00.000+08:00",
        "count": 1, "acknowledged": False, "text": ""}
    for kind in ("wecom", "dingtalk"):
        assert got[f"/{kind}"]["msgtype"] == "text"
        assert got[f"/{kind}"]["text"]["content"].startswith("【窗口服务评价告警】离岗超时\n离岗")


def test_a_robot_that_answers_an_error_code_is_a_failure(store, clock):
    with WebhookReceiver(reply={"errcode": 93000, "errmsg": "invalid webhook url"}) as receiver:
        store.alerts.create_alert_target(None, "wecom", receiver.url())
        _alerts(store, clock, 1)
        DeliveryTask(Sender(None, SHANGHAI)).run(store, clock.now())
    assert store.db.execute("SELECT status, last_error FROM deliveries").fetchone() == (
        "pending", "机器人拒绝：errcode 93000 invalid webhook url")


def test_a_dingtalk_secret_signs_the_address():
    url = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=abc#SECxyz", 1700000000000)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign=")
    assert "#" not in url
    assert dingtalk_url("https://x/robot/send?access_token=abc", 1) == "https://x/robot/send?access_token=abc"


def test_an_unknown_target_kind_is_hopeless():
    with pytest.raises(Hopeless):
        Sender(None, SHANGHAI)("pigeon", "x", {}, 0)


# ---------------------------------------------------------------- the pages
@pytest.fixture
def web(app):
    s = Store(open_db(app.config["DATABASE"]))
    s.registry.create_site("hq", "总部大厅", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区大厅", "Asia/Shanghai", "{}", False)
    s.accounts.create_user("admin", hash_password("admin password"), "admin", None, 0)
    s.accounts.create_user("east-boss", hash_password("manager password"), "manager", ["east"], 0)
    s.accounts.create_user("viewer", hash_password("viewer password"), "viewer", None, 0)
    yield s
    s.db.close()


def test_pages_show_alerts_in_the_readers_language_while_deliveries_say_them_in_chinese(app, web):
    now = to_ms(NOW)
    facts = Facts(now, titles={"w02": "东区二号"}, window_site={"w02": "east"},
                  absences=[("w02", "east", now - 20 * MINUTE)], offline=[("k9", None, "east", now - 12 * MINUTE)],
                  gaps=[("k2", "w02", "east", "stream-9", now - 30 * MINUTE, True, "4-6")])
    rules = [{"id": i, "kind": kind, "site": None, "params": {}}
             for i, kind in enumerate(("absence", "offline", "gap"), 1)]
    raised = raise_alerts(web, evaluate(rules, facts), now, 30 * MINUTE, 30 * MINUTE)["raised"]
    chinese = ["东区二号（w02）：离岗已 20 分钟", "评价器 k9（未分配窗口）离线已 12 分钟",
               "评价器 k2（东区二号（w02））的数据流 stream-9 丢失事件 4-6，已无法补传"]
    assert sorted(web.alerts.alert(i)["message"] for i in raised) == sorted(chinese), "what deliveries send"
    client, _ = session(app, "east-boss", "manager password")
    page = client.get("/alerts").get_data(as_text=True)
    assert all(text in page for text in chinese)
    client.get("/lang/en")
    page = client.get("/alerts").get_data(as_text=True)
    assert "东区二号 (w02): away for 20 minutes" in page
    assert "Kiosk k9 (no window assigned) offline for 12 minutes" in page
    assert "Stream stream-9 of kiosk k2 (东区二号 (w02)) lost events 4-6; they can no longer be sent" in page
    assert not any(text in page for text in chinese)


def test_managers_see_and_acknowledge_only_their_sites_alerts(app, web):
    now = to_ms(NOW)
    hq = web.alerts.insert_alert(1, "absence", "hq", "w01", None, "absence:1:w01", "总部窗口离岗已 20 分钟", now)
    east = web.alerts.insert_alert(1, "absence", "east", "w02", None, "absence:1:w02", "东区窗口离岗已 20 分钟", now)
    target = web.alerts.create_alert_target(None, "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET")
    web.alerts.enqueue_deliveries(east, "east", now)
    client, token = session(app, "east-boss", "manager password")
    page = client.get("/alerts").get_data(as_text=True)
    assert "东区窗口离岗已 20 分钟" in page and "总部窗口离岗已 20 分钟" not in page
    assert "未确认 1 条" in page and "企业微信" in page and "待发送" in page
    assert "SECRET" not in page, "a robot's key is the admin's to see"
    assert client.post("/alerts/ack", data={"csrf_token": token, "alert_id": hq}).status_code == 404
    assert client.post("/alerts/ack", data={"csrf_token": token, "alert_id": "x"}).status_code == 400
    assert client.post("/alerts/ack", data={"alert_id": east}).status_code == 400, "no CSRF token"
    assert client.post("/alerts/ack", data={"csrf_token": token, "alert_id": east}).status_code == 302
    row = web.alerts.alert(east)
    assert (row["acked_by"], row["acked_at"]) == ("east-boss", now)
    assert web.alerts.alert(hq)["acked_at"] is None
    assert "east-boss 已确认" in client.get("/alerts").get_data(as_text=True)
    viewer, _ = session(app, "viewer", "viewer password")
    assert viewer.get("/alerts").status_code == 403
    assert target


def test_the_admin_sets_rules_and_targets_and_bad_input_is_refused(app, web):
    client, token = session(app, "admin", "admin password")
    assert client.get("/admin/alerts").status_code == 200
    ok = client.post("/admin/alerts/rules", data={"csrf_token": token, "site": "hq", "kind": "unsatisfied",
                                                  "minutes": "15", "min_ratings": "4", "share": "50"})
    assert ok.status_code == 302
    [rule] = web.alerts.alert_rules()
    assert (rule["site"], rule["kind"], rule["params"]) == ("hq", "unsatisfied",
                                                           {"minutes": 15, "min_ratings": 4, "share": 0.5})
    for form, message in [({"kind": "unsatisfied", "share": "150"}, "差评占比应在 1 到 100 之间"),
                          ({"kind": "absence", "minutes": "abc"}, "分钟应是数字"),
                          ({"kind": "bogus"}, "请选择告警类型"),
                          ({"kind": "absence", "site": "nowhere"}, "大厅 nowhere 不存在")]:
        bad = client.post("/admin/alerts/rules", data={"csrf_token": token, **form})
        assert bad.status_code == 400 and message in bad.get_data(as_text=True), form
    assert len(web.alerts.alert_rules()) == 1
    saved = client.post("/admin/alerts/rules/save", data={"csrf_token": token, "rule_id": rule["id"],
                                                          "minutes": "30", "min_ratings": "6", "share": "60"})
    assert saved.status_code == 302
    assert web.alerts.alert_rule(rule["id"])["params"] == {"minutes": 30, "min_ratings": 6, "share": 0.6}
    assert web.alerts.alert_rule(rule["id"])["enabled"] == 0, "the box was not ticked"
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert "30 分钟内至少 6 条评价，其中差评占 60% 及以上" in page

    for form, message in [({"kind": "webhook", "address": "ftp://x/"}, "不是 http:// 或 https:// 地址"),
                          ({"kind": "email", "address": "not-an-address"}, "不是电子邮件地址"),
                          ({"kind": "wecom", "address": "https://x/#frag"}, "地址不能带 # 部分"),
                          ({"kind": "sms", "address": "13800000000"}, "请选择接收方式")]:
        bad = client.post("/admin/alerts/targets", data={"csrf_token": token, **form})
        assert bad.status_code == 400 and message in bad.get_data(as_text=True), form
    assert web.alerts.alert_targets() == []
    assert client.post("/admin/alerts/targets", data={"csrf_token": token, "kind": "dingtalk", "site": "east",
                                                      "address": "https://oapi.dingtalk.com/robot/send?access_token"
                                                                 "=t#SECabc"}).status_code == 302
    [target] = web.alerts.alert_targets()
    assert client.post("/admin/alerts/targets/toggle", data={"csrf_token": token,
                                                             "target_id": target["id"]}).status_code == 302
    assert web.alerts.alert_target(target["id"])["enabled"] == 0
    assert client.post("/admin/alerts/targets/delete", data={"csrf_token": token,
                                                             "target_id": target["id"]}).status_code == 302
    assert web.alerts.alert_targets() == []
    assert client.post("/admin/alerts/rules/delete", data={"csrf_token": token,
                                                           "rule_id": rule["id"]}).status_code == 302
    assert web.alerts.alert_rules() == []


def test_the_admin_sends_a_test_to_a_target(app, web):
    client, token = session(app, "admin", "admin password")
    with WebhookReceiver() as receiver:
        good = web.alerts.create_alert_target(None, "webhook", receiver.url())
        answer = client.post("/admin/alerts/targets/test", data={"csrf_token": token, "target_id": good})
        assert answer.status_code == 302
        [body] = receiver.bodies()
    assert body["alert"]["kind"] == "test" and "测试告警" in body["alert"]["message"]
    mail = web.alerts.create_alert_target(None, "email", "boss@example.com")
    failed = client.post("/admin/alerts/targets/test", data={"csrf_token": token, "target_id": mail})
    assert failed.status_code == 502 and "未配置 SMTP 服务器" in failed.get_data(as_text=True)


def test_the_server_runs_both_tasks_with_its_smtp_settings():
    from server.jobs import default_tasks

    tasks = {t.name: t for t in default_tasks({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": 2525, "ALERT_INTERVAL": 1,
                                               "TIMEZONE": "Asia/Shanghai"})}
    assert tasks["alerts"].interval == 1 and tasks["deliveries"].interval == 2
    assert tasks["deliveries"].send.smtp.port == 2525
