"""What a device may say (issue 11): only for its own window, at a human rate, and nothing it sends, however
hostile, stops a batch. The collector's handler on a real SQLite file, fed hand-built messages."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.ingest import ingestor as ingest_module
from server.ingest.ingestor import Ingestor, Message
from server.store import Store
from server.store.db import open_db
from server.store.ingest import REJECTS_KEPT, REJECTS_KEPT_UNKNOWN
from server.store.migrations import migrations
from server.store.settings import DEFAULT_DEVICE_RATE
from shared.contract import Ack
from shared.timefmt import format_ts, to_ms

from .events import STREAM, event, msg

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in the hall
HOUR = timedelta(hours=1)


def ts(moment: datetime) -> str:
    return format_ts(moment)


@pytest.fixture
def clock_start():
    return NOW


@pytest.fixture
def kiosks(store):
    """k1 at w01 of site a, k2 at w02 of site b, both confirmed a day ago, as `ceval device add` does."""
    for site in ("a", "b"):
        store.registry.create_site(site, site.upper(), "Asia/Shanghai", "{}", False)
    store.registry.create_window("w01", None, "a")
    store.registry.create_window("w02", None, "b")
    store.registry.create_clerk("1001", "甲", "a", None)
    store.registry.create_clerk("2002", "乙", "b", None)
    store.registry.assign_device("k1", "w01", to_ms(NOW - 24 * HOUR))
    store.registry.assign_device("k2", "w02", to_ms(NOW - 24 * HOUR))
    return store


def rows(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


def strict(store, clock) -> Ingestor:
    return Ingestor(store, clock, strict=True)


# ---------------------------------------------------------------- a device speaks only for its own window
def test_events_naming_another_window_are_rejected_recorded_and_acked(kiosks, clock):
    store = kiosks
    sent = [msg(event(1, ts=ts(NOW - HOUR))),
            msg(event(2, window="w02", staff="2002", ts=ts(NOW - HOUR), score=1)),
            msg(event(3, type="feedback", window="w02", text="差", ts=ts(NOW - HOUR))),
            msg(event(4, type="presence", window="w02", state="away", ts=ts(NOW - HOUR))),
            msg(event(5, window="w99", ts=ts(NOW - HOUR))),
            msg(event(6, ts=ts(NOW - HOUR)))]
    result = strict(store, clock).handle(sent)
    assert (result.stored, result.rejected) == (2, 4)
    assert result.acks == [("k1", Ack(STREAM, 6))], "the kiosk does not send them again"
    assert rows(store, "SELECT window, count(*) FROM events GROUP BY window") == [("w01", 2)]
    assert rows(store, "SELECT count(*) FROM cases") == [(0,)], "no bad-review case against w02's clerk"
    assert rows(store, "SELECT presence FROM windows WHERE window = 'w02'") == [("present",)]
    assert rows(store, "SELECT window FROM windows ORDER BY window") == [("w01",), ("w02",)], "w99 is not created"
    reasons = [r[0] for r in rows(store, "SELECT reason FROM rejects ORDER BY id")]
    assert reasons[:3] == ["window: w02 is not device k1's window (it serves w01)"] * 3
    assert reasons[3] == "window: w99 is not device k1's window (it serves w01)"
    assert rows(store, "SELECT rejected FROM devices WHERE device = 'k1'") == [(4,)]


def test_events_timed_before_the_assignment_are_rejected_and_acked(kiosks, clock):
    store = kiosks
    two_weeks_back = ts(NOW - 14 * 24 * HOUR)
    result = strict(store, clock).handle([msg(event(1, ts=two_weeks_back, score=1)),
                                          msg(event(2, ts=ts(NOW - 24 * HOUR - 4 * 60 * 1000 * timedelta(0, 0, 1))))])
    assert (result.stored, result.rejected) == (1, 1), "5 minutes of clock slack, not two weeks"
    assert result.acks == [("k1", Ack(STREAM, 2))]
    [(reason,)] = rows(store, "SELECT reason FROM rejects")
    assert reason.startswith("window: w01 was device k1's only from 2026-11-22T01:30:00.000+00:00, the event is timed "
                             "2026-11-09T01:30:00.000+00:00")


def test_a_moved_kiosks_queued_events_still_count_for_its_old_window(kiosks, clock):
    store = kiosks
    store.registry.assign_device("k1", "w02", to_ms(NOW - HOUR))  # moved an hour ago (w02's old kiosk k2 is unassigned)
    assert rows(store, "SELECT device, window, since, until FROM device_windows ORDER BY id") == [
        ("k1", "w01", to_ms(NOW - 24 * HOUR), to_ms(NOW - HOUR)),
        ("k2", "w02", to_ms(NOW - 24 * HOUR), to_ms(NOW - HOUR)),
        ("k1", "w02", to_ms(NOW - HOUR), None)]
    result = strict(store, clock).handle([
        msg(event(1, window="w01", ts=ts(NOW - 2 * HOUR))),   # queued while at w01: counts there
        msg(event(2, window="w01", ts=ts(NOW - HOUR / 2))),   # after the move, still naming w01: refused
        msg(event(3, window="w02", ts=ts(NOW - HOUR / 4))),   # at its new window
        msg(event(1, stream="stream-k2", window="w02", ts=ts(NOW - HOUR / 4)), device="k2")])  # k2 is nowhere
    assert (result.stored, result.rejected) == (2, 2)
    assert rows(store, "SELECT device, seq, window FROM events ORDER BY device, seq") == [("k1", 1, "w01"),
                                                                                       ("k1", 3, "w02")]
    assert sorted(result.acks) == [("k1", Ack(STREAM, 3)), ("k2", Ack("stream-k2", 1))]


def test_under_strict_an_unconfirmed_device_creates_no_window_stream_or_clerk(store, clock):
    status = {"v": 1, "online": True, "window": "w07"}
    result = strict(store, clock).handle([msg(status, device="k9", kind="status"),
                                          msg(event(1, window="w07", staff="7777"), device="k9")])
    assert result.rejected == 1 and result.acks == [("k9", Ack(STREAM, 1))], "told to stop sending it"
    assert rows(store, "SELECT count(*) FROM windows") == [(0,)]
    assert rows(store, "SELECT count(*) FROM streams") == [(0,)]
    assert rows(store, "SELECT count(*) FROM staff") == [(0,)]
    assert rows(store, "SELECT device, confirmed, window FROM devices") == [("k9", 0, "w07")], \
        "its row stays, with the window it reports, for an admin to confirm"


def test_a_status_never_creates_a_window_for_a_confirmed_device(kiosks, clock):
    store = kiosks
    for ingestor in (Ingestor(store, clock), strict(store, clock)):
        ingestor.handle([msg({"v": 1, "online": True, "window": "w55"}, kind="status")])
    assert rows(store, "SELECT window FROM windows ORDER BY window") == [("w01",), ("w02",)]
    assert store.registry.device("k1")["window"] == "w01"


def test_a_confirmed_device_without_a_window_is_refused_under_strict(store, clock):
    store.ingest.seen_device("k5", to_ms(NOW - HOUR))
    store.registry.assign_device("k5", None, to_ms(NOW - HOUR))
    result = strict(store, clock).handle([msg(event(1, window="w05"), device="k5")])
    assert result.rejected == 1 and result.acks == [("k5", Ack(STREAM, 1))]
    assert rows(store, "SELECT reason FROM rejects") == [
        ("window: device k5 is assigned to no window (server runs --strict)",)]
    assert rows(store, "SELECT count(*) FROM windows") == [(0,)]


def test_without_strict_an_unconfirmed_device_keeps_todays_behaviour(store, clock):
    ingest = Ingestor(store, clock)
    ingest.handle([msg({"v": 1, "online": True, "window": "w07"}, kind="status", device="demo"),
                   msg(event(1, window="w08"), device="demo")])
    assert rows(store, "SELECT window, device FROM windows ORDER BY window") == [("w07", "demo"), ("w08", "demo")]
    assert rows(store, "SELECT count(*) FROM events") == [(1,)]


def test_an_unknown_staff_number_is_stored_as_given_and_creates_no_clerk(kiosks, clock):
    store = kiosks
    strict(store, clock).handle([msg(event(1, staff="2002", ts=ts(NOW - HOUR))),   # a clerk of site b
                                 msg(event(2, staff="X-1", ts=ts(NOW - HOUR)))])
    assert rows(store, "SELECT staff FROM ratings ORDER BY at, staff") == [("2002",), ("X-1",)]
    assert rows(store, "SELECT staff FROM staff ORDER BY staff") == [("1001",), ("2002",)]


# ---------------------------------------------------------------- the migration keeps what was there
def test_the_migration_binds_confirmed_devices_without_rejecting_what_was_queued(tmp_path, clock):
    db = open_db(tmp_path / "old.sqlite3")
    db.execute("DROP TABLE device_windows")
    db.execute("DROP INDEX rejects_device_id")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm012_device_assignments'")
    first = to_ms(NOW - 30 * 24 * HOUR)
    db.execute("INSERT INTO devices (device, window, confirmed, first_seen, last_seen) VALUES "
               "('k1', 'w02', 1, ?, ?), ('k2', 'w03', 0, ?, ?), ('k3', NULL, 1, ?, ?)",
               [first, first, first, first, first, first])
    for seq, window, when in ((1, "w01", NOW - 40 * 24 * HOUR), (2, "w02", NOW - 20 * 24 * HOUR)):
        db.execute("INSERT INTO events (id, device, stream, seq, type, window, ts, at, received_at, payload) "
                   "VALUES (?, 'k1', ?, ?, 'rating', ?, ?, ?, ?, '{}')",
                   [f"e{seq:07d}", STREAM, seq, window, ts(when), to_ms(when), to_ms(when)])
    migrations.apply(db)
    store = Store(db)
    history = rows(store, "SELECT device, window, since, until IS NULL FROM device_windows ORDER BY window")
    assert history == [("k1", "w01", to_ms(NOW - 40 * 24 * HOUR), 0), ("k1", "w02", first, 1)]
    result = strict(store, clock).handle([msg(event(3, window="w01", ts=ts(NOW - 39 * 24 * HOUR))),
                                          msg(event(4, window="w02", ts=ts(NOW - 2 * HOUR)))])
    assert (result.stored, result.rejected) == (2, 0), "queued before the upgrade: still counted"


# ---------------------------------------------------------------- the event quota
def test_events_beyond_the_quota_are_rejected_as_rate_acked_and_alerted_once(kiosks, clock):
    store = kiosks
    ingest = strict(store, clock)
    minute = NOW - HOUR
    sent = [msg(event(seq, ts=ts(minute + timedelta(seconds=seq % 60)))) for seq in range(1, 151)]
    result = ingest.handle(sent[:100])
    assert (result.stored, result.rejected) == (100, 0)
    result = ingest.handle(sent[100:] + sent[:10])  # the rest of the flood and ten resent duplicates
    assert (result.stored, result.duplicates, result.rejected) == (DEFAULT_DEVICE_RATE - 100, 10, 30)
    assert result.acks == [("k1", Ack(STREAM, 150))]
    reasons = {r[0] for r in rows(store, "SELECT reason FROM rejects")}
    assert reasons == {"rate: device k1 sent more than 120 events in the minute 2026-11-23T00:30:00.000+00:00 "
                       "of its clock"}
    clock.advance(30)
    ingest.handle([msg(event(151, ts=ts(minute + timedelta(seconds=5))))])  # the same episode
    assert rows(store, "SELECT kind, site, window, device, count FROM alerts") == [("rate", "a", "w01", "k1", 1)]
    alert = rows(store, "SELECT message FROM alerts")[0][0]
    assert alert == "评价器 k1（1号窗口（w01））每分钟发送的事件超过 120 条，超出的已拒收"

    # the next minute of its clock has room again; a backlog keeps the minutes it was given in
    backlog = [msg(event(seq, ts=ts(minute + timedelta(minutes=1 + (seq - 152) // 100))))
               for seq in range(152, 452)]
    result = ingest.handle(backlog)
    assert (result.stored, result.rejected) == (300, 0)

    clock.advance(61)  # quiet for a minute: a new episode, counted into the open alert
    ingest.handle([msg(event(452, ts=ts(minute + timedelta(seconds=1))))])
    assert rows(store, "SELECT kind, count FROM alerts") == [("rate", 2)]
    assert rows(store, "SELECT rejected FROM devices WHERE device = 'k1'") == [(32,)]


def test_the_quota_is_a_setting(kiosks, clock):
    store = kiosks
    store.settings.set_device_rate(5)
    result = strict(store, clock).handle([msg(event(seq, ts=ts(NOW - HOUR))) for seq in range(1, 9)])
    assert (result.stored, result.rejected) == (5, 3)
    with pytest.raises(ValueError):
        store.settings.set_device_rate(0)


# ---------------------------------------------------------------- rejects kept, counted exactly
def test_rejects_kept_are_capped_per_device_while_the_count_stays_exact(kiosks, clock):
    store = kiosks
    ingest = strict(store, clock)
    bad = [msg(b"[" * 2048 + b"]" * 2048) for _ in range(REJECTS_KEPT + 50)]
    ingest.handle(bad[:100])
    ingest.handle(bad[100:])
    nobody = [Message(f"ceval/v1/K_{i}/event", b"x" * 5000) for i in range(REJECTS_KEPT_UNKNOWN + 20)]
    ingest.handle(nobody)
    assert rows(store, "SELECT rejected FROM devices WHERE device = 'k1'") == [(REJECTS_KEPT + 50,)]
    assert rows(store, "SELECT count(*) FROM rejects WHERE device = 'k1'") == [(REJECTS_KEPT,)]
    assert rows(store, "SELECT count(*) FROM rejects WHERE device IS NULL") == [(REJECTS_KEPT_UNKNOWN,)]
    assert rows(store, "SELECT max(length(payload)), max(length(reason)), max(length(topic)) FROM rejects") \
        <= [(4096, 500, 256)]
    newest = rows(store, "SELECT min(id) FROM rejects WHERE device = 'k1'")[0][0]
    assert newest == rows(store, "SELECT max(id) FROM rejects WHERE device = 'k1'")[0][0] - REJECTS_KEPT + 1


# ---------------------------------------------------------------- hostile payloads never stop a batch
HOSTILE = [b"[" * 2048 + b"]" * 2048, b"[" * 100_000 + b"]" * 100_000, b'{"v": 1, "seq": NaN}', b"\xed\xa0\x80",
           b'"just a string"', b"1e999999", b'{"v": 1, "stream": "' + b"s" * 5000 + b'"}']


def test_a_batch_holding_hostile_messages_stores_and_acks_every_other(kiosks, clock):
    store = kiosks
    batch = [msg(event(1, ts=ts(NOW - HOUR)))]
    for i, payload in enumerate(HOSTILE):
        batch.append(Message("ceval/v1/k1/event", payload))
        batch.append(msg(event(1 + i, stream="stream-k2", window="w02", ts=ts(NOW - HOUR)), device="k2"))
    batch.append(Message("ceval/v1/k2/status", HOSTILE[0]))
    batch.append(msg(event(2, ts=ts(NOW - HOUR))))
    result = strict(store, clock).handle(batch)
    assert (result.stored, result.rejected) == (2 + len(HOSTILE), len(HOSTILE) + 1)
    assert sorted(result.acks) == [("k1", Ack(STREAM, 2)), ("k2", Ack("stream-k2", len(HOSTILE)))]
    assert rows(store, "SELECT count(*) FROM rejects WHERE reason LIKE '%nests%'") == [(2,)]


def test_a_failure_outside_the_contract_is_recorded_and_the_rest_acked(kiosks, clock, monkeypatch):
    """Should anything but a ContractError escape while a message is handled (as RecursionError did), the batch
    is handled one by one: that message is recorded as rejected, every other stored and acked."""
    store = kiosks
    poison = msg(event(2, ts=ts(NOW - HOUR), text="poison", type="feedback"))
    real = ingest_module.parse_event

    def parse(payload):
        if b"poison" in payload:
            raise RecursionError("maximum recursion depth exceeded")
        return real(payload)

    monkeypatch.setattr(ingest_module, "parse_event", parse)
    result = strict(store, clock).handle([msg(event(1, ts=ts(NOW - HOUR))), poison,
                                          msg(event(1, stream="stream-k2", window="w02", ts=ts(NOW - HOUR)),
                                              device="k2"),
                                          msg(event(3, ts=ts(NOW - HOUR)))])
    assert (result.stored, result.rejected) == (3, 1)
    assert rows(store, "SELECT device, reason FROM rejects") == [
        ("k1", "the server could not store it: RecursionError('maximum recursion depth exceeded')")]
    assert ("k2", Ack("stream-k2", 1)) in result.acks and ("k1", Ack(STREAM, 1)) in result.acks


# ---------------------------------------------------------------- caches keyed by what devices send
def test_caches_keyed_by_device_input_stay_bounded(store, clock):
    ingest = Ingestor(store, clock)
    ingest._owners.size = ingest._topics.size = 50
    batch = [msg(event(1, stream=f"stream-{i:06d}", ts=ts(NOW - timedelta(minutes=i))), device=f"k{i}")
             for i in range(200)]
    ingest.handle(batch)
    assert len(ingest._owners) == 50 and len(ingest._topics) == 50
    assert ingest.handle(batch).duplicates == 200, "what was forgotten is read again from the store"


# ---------------------------------------------------------------- the Devices page shows why, and sets the quota
def test_the_devices_page_shows_each_devices_rejections_and_sets_the_quota(app, clock):
    from server.domain.passwords import hash_password

    from .web import PASSWORD, As

    store = Store(open_db(app.config["DATABASE"]))
    store.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    store.registry.create_window("w01", None, None)
    store.registry.create_window("w02", None, None)
    store.registry.assign_device("k1", "w01", to_ms(clock.now()) - 3_600_000)
    ingest = Ingestor(store, clock, strict=True)
    ingest.handle([msg(event(1, window="w02", ts=format_ts(clock.now())))] +
                  [msg(b"[" * 40 + b"]" * 40) for _ in range(7)] +
                  [msg(event(1, stream="stream-k9"), device="k9")])
    admin = As(app, "root")
    page = admin.get("/admin/devices").get_data(as_text=True)
    k1 = page.split('data-device="k1"')[1].split("</tr>")[0]
    assert '<span class="bad">8</span>' in k1, "every rejection counted"
    assert k1.count("<li>") == 5 and "message nests arrays and objects more than 16 levels deep" in k1, "the newest, with reasons"
    k9 = page.split('id="unconfirmed"')[1].split('data-device="k9"')[1].split("</tr>")[0]
    assert "device k9 is not registered (server runs --strict)" in k9
    assert 'name="rate"' in page and 'value="120"' in page

    assert admin.post("/admin/device-quota", {"rate": "30"}).status_code == 302
    assert store.settings.device_rate() == 30
    for bad in ("0", "-5", "abc", "1e9", "100001", ""):
        response = admin.post("/admin/device-quota", {"rate": bad})
        assert response.status_code == 400 and "每分钟事件上限应为 1 到 100000 之间的整数" in response.get_data(as_text=True)
    assert store.settings.device_rate() == 30
