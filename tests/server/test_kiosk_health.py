"""Issue 11, leftovers: what a kiosk's status says of its own health reaches the people who look after it.

A kiosk whose outbox cannot store (`storage`: "full" or "error") is marked red on the Devices page and /fleet,
and raises one alert per episode; acks beyond its last seq that it ignored (`ignored_acks`, a sign of a forged
ack) show with their count and last upto_seq. Both are untrusted input: anything but the contract's shape is
dropped. The collector's handler (--strict) on a real SQLite file, and the web app over it.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from server.domain.passwords import hash_password
from server.followup.alerts import MERGE_MINUTES
from server.ingest.ingestor import Ingestor
from shared.contract import MAX_SEQ, parse_status
from shared.timefmt import format_ts, to_ms

from .conftest import NOW
from .events import msg
from .web import session

HOUR = timedelta(hours=1)
FORGED = {"count": 3, "upto_seq": 999_999, "ts": "2026-11-23T13:40:00.000+08:00"}


@pytest.fixture
def seed_store(blank_store):
    """k1 at w01 of hall a, k2 at w02 of hall b, both confirmed; k3 not confirmed; an admin."""
    s = blank_store
    s.registry.create_site("a", "A 厅", "Asia/Shanghai", "{}", True)
    s.registry.create_site("b", "B 厅", "Asia/Shanghai", "{}", False)
    s.registry.create_window("w01", "一号窗", "a")
    s.registry.create_window("w02", "二号窗", "b")
    s.registry.assign_device("k1", "w01", to_ms(NOW - 24 * HOUR))
    s.registry.assign_device("k2", "w02", to_ms(NOW - 24 * HOUR))
    s.accounts.create_user("boss", hash_password("boss pass"), "admin", None, 0)


@pytest.fixture
def ingest(store, clock):
    return Ingestor(store, clock, strict=True)


def status(online: bool = True, device: str = "k1", **fields):
    body = {"v": 1, "online": online, **({"ts": format_ts(NOW), "window": "w01", "outbox": 4} if online else {}),
            **fields}
    return msg(body, device=device, kind="status")


def health(store, device: str = "k1") -> tuple:
    return store.db.execute("SELECT storage, storage_since, ignored_acks, ignored_upto_seq, ignored_ack_at "
                            "FROM devices WHERE device = ?", (device,)).fetchone()


def alerts(store) -> list[tuple]:
    return store.db.execute("SELECT kind, site, window, device, count, message FROM alerts ORDER BY id").fetchall()


# ---------------------------------------------------------------- what the server keeps
def test_the_status_health_is_kept_and_a_last_will_does_not_clear_it(store, ingest, clock):
    assert health(store) == (None, None, None, None, None)
    result = ingest.handle([status(storage="full", ignored_acks=FORGED)])
    assert result.rejected == 0
    now = to_ms(NOW)
    assert health(store) == ("full", now, 3, 999_999, now)

    clock.advance(60)
    ingest.handle([status(storage="error", ignored_acks=FORGED)])  # the same trouble goes on, the same acks
    assert health(store) == ("error", now, 3, 999_999, now), "since when and when learned stay"

    clock.advance(60)
    ingest.handle([status(online=False)])  # its Last Will: what was known stays
    assert health(store) == ("error", now, 3, 999_999, now)

    clock.advance(60)
    ingest.handle([status()])  # back, storing again, restarted (no ignored acks since)
    assert health(store) == (None, None, 3, 999_999, now), "the forged acks stay on record"

    clock.advance(60)
    ingest.handle([status(ignored_acks={**FORGED, "count": 1, "upto_seq": 5000})])
    assert health(store) == (None, None, 1, 5000, to_ms(NOW) + 240_000)


def test_the_health_of_a_kiosk_of_the_first_version_is_blank(store, ingest):
    ingest.handle([status()])
    assert health(store) == (None, None, None, None, None)


# ---------------------------------------------------------------- hostile values
@pytest.mark.parametrize("storage", ["FULL", "ok", "<b>x</b>", "full" * 500, 1, True, None, ["full"], {"full": 1}])
def test_a_storage_value_outside_the_contract_is_dropped(store, ingest, storage):
    result = ingest.handle([status(storage=storage)])
    assert result.rejected == 0, "the rest of the status counts"
    assert health(store)[0] is None and store.registry.device("k1")["outbox"] == 4
    assert alerts(store) == []


@pytest.mark.parametrize("ignored", [
    {"count": 0, "upto_seq": 9, "ts": FORGED["ts"]},
    {"count": -1, "upto_seq": 9, "ts": FORGED["ts"]},
    {"count": True, "upto_seq": 9, "ts": FORGED["ts"]},
    {"count": 2.0, "upto_seq": 9, "ts": FORGED["ts"]},
    {"count": MAX_SEQ + 1, "upto_seq": 9, "ts": FORGED["ts"]},
    {"count": 10 ** 400, "upto_seq": 9, "ts": FORGED["ts"]},
    {"count": 2, "upto_seq": -5, "ts": FORGED["ts"]},
    {"count": 2, "upto_seq": "9", "ts": FORGED["ts"]},
    {"count": 2, "upto_seq": MAX_SEQ + 1, "ts": FORGED["ts"]},
    {"count": 2, "upto_seq": 9, "ts": "yesterday"},
    {"count": 2, "upto_seq": 9, "ts": 1700000000},
    {"count": 2, "upto_seq": 9},
    {"count": {"n": [1]}, "upto_seq": 9, "ts": FORGED["ts"]},
    [3, 999_999, FORGED["ts"]], "3", 3,
])
def test_ignored_acks_outside_the_contract_are_dropped(store, ingest, ignored):
    result = ingest.handle([status(ignored_acks=ignored)])
    assert result.rejected == 0
    assert health(store)[2:] == (None, None, None)


def test_ignored_acks_keep_only_the_contracts_keys():
    parsed = parse_status(json.dumps({"v": 1, "online": True, "ignored_acks": {**FORGED, "x": "y" * 3000}}).encode())
    assert parsed.ignored_acks == FORGED
    assert json.loads(parsed.to_json())["ignored_acks"] == FORGED


# ---------------------------------------------------------------- the alert, once per episode
def test_a_full_storage_raises_one_alert_per_episode(store, ingest, clock):
    ingest.handle([status(storage="full")])
    assert alerts(store) == [("storage", "a", "w01", "k1", 1,
                              "评价器 k1（一号窗（w01））存储已满：评价暂不能保存，请清理或更换存储卡")]
    for _ in range(3):  # the same episode: every status it sends, and its retained one re-read after a restart
        clock.advance(30)
        ingest.handle([status(storage="full")])
        Ingestor(store, clock, strict=True).handle([status(storage="full")])
    clock.advance(30)
    ingest.handle([status(online=False)])
    ingest.handle([status(storage="full")])
    assert [a[4] for a in alerts(store)] == [1]

    clock.advance(30)
    ingest.handle([status()])  # space returned
    clock.advance(30)
    ingest.handle([status(storage="full")])  # full again: a new episode, counted into the open alert
    assert [(a[0], a[4]) for a in alerts(store)] == [("storage", 2)]

    store.alerts.ack_alert(store.alerts.alert_list()[0]["id"], "boss", to_ms(clock.now()))
    clock.advance(MERGE_MINUTES * 60 + 1)
    ingest.handle([status()])
    ingest.handle([status(storage="error")])  # long after it was acknowledged: a new alert
    assert [(a[0], a[4]) for a in alerts(store)] == [("storage", 2), ("storage", 1)]
    assert alerts(store)[1][5] == "评价器 k1（一号窗（w01））存储出错：评价暂不能保存，请查看评价器日志"


def test_each_kiosk_has_its_own_alert_queued_for_its_hall(store, ingest):
    store.alerts.create_alert_target("b", "webhook", "https://hall-b.example.cn/hook")
    store.alerts.create_alert_target("a", "webhook", "https://hall-a.example.cn/hook")
    ingest.handle([status(storage="full"), status(device="k2", window="w02", storage="full")])
    assert [(a[2], a[3]) for a in alerts(store)] == [("w01", "k1"), ("w02", "k2")]
    queued = store.db.execute("SELECT a.device, t.site FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
                              "JOIN alert_targets t ON t.id = d.target_id ORDER BY a.device").fetchall()
    assert queued == [("k1", "a"), ("k2", "b")]


# ---------------------------------------------------------------- the pages
@pytest.fixture
def boss(app, store, ingest, clock):
    ingest.handle([status(storage="full", ignored_acks=FORGED),
                   status(device="k2", window="w02", storage="error"),
                   status(device="k3", window="w03")])
    return session(app, "boss", "boss pass")[0]


def text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def row(page: str, table: str, device: str) -> str:
    return page.split(f'id="{table}"', 1)[1].split(f'data-device="{device}"', 1)[1].split("</tr>")[0]


def test_the_devices_page_marks_a_kiosk_that_cannot_store_and_its_ignored_acks(boss):
    page = text(boss, "/admin/devices")
    k1, k2, k3 = row(page, "confirmed", "k1"), row(page, "confirmed", "k2"), row(page, "unconfirmed", "k3")
    assert '<span class="bad storage"' in k1 and "存储已满" in k1
    assert "忽略越界确认 3 次（最近 upto_seq 999999，2026-11-23 14:00）" in k1
    assert "存储出错" in k2 and "忽略越界确认" not in k2
    assert "storage" not in k3 and "忽略越界确认" not in k3


def test_the_fleet_page_marks_a_kiosk_that_cannot_store_and_its_ignored_acks(boss):
    page = text(boss, "/fleet")
    k1, k2, k3 = (row(page, "devices", d) for d in ("k1", "k2", "k3"))
    storage = k1.split('class="l storage"', 1)[1].split("</td>")[0]
    assert '<span class="bad storage"' in storage and "存储已满" in storage
    assert "存储出错" in k2.split('class="l storage"', 1)[1].split("</td>")[0]
    ignored = k1.split('class="l ignored"', 1)[1].split("</td>")[0]
    assert "忽略越界确认 3 次（最近 upto_seq 999999，2026-11-23 14:00:00）" in ignored
    assert k3.split('class="l storage"', 1)[1].split("</td>")[0] == ">—"
    assert k3.split('class="l ignored"', 1)[1].split("</td>")[0] == ">0"


def test_the_marks_and_the_alert_are_in_the_readers_language(boss):
    boss.get("/lang/en")
    devices = text(boss, "/admin/devices")
    assert "Storage full" in row(devices, "confirmed", "k1") and "Storage error" in row(devices, "confirmed", "k2")
    assert "Ignored 3 acks beyond its last seq (last upto_seq 999999, 2026-11-23 14:00)" in row(
        devices, "confirmed", "k1")
    fleet = text(boss, "/fleet")
    assert "Storage full" in row(fleet, "devices", "k1") and "存储" not in fleet.split("<main", 1)[1]
    page = text(boss, "/alerts")
    assert "Kiosk k1 (一号窗 (w01)): storage is full" in page and "Kiosk storage failure" in page
