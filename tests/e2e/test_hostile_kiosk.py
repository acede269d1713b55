"""A stolen kiosk password and hostile messages (issue 11), through a real Mosquitto running the shipped
configuration with accounts made by `ceval device add`, and `ceval server --strict`: a kiosk speaks only for its
own window, cannot create windows, and no message stops a batch or wedges a restart; the broker refuses
messages larger than the contract allows while the largest legitimate config passes."""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import paho.mqtt.client as mqtt

from server.domain.kiosk_config import MAX_CONFIG_BYTES, Clerk, Target, build_config, with_token
from shared.pins import hash_pin
from shared.timefmt import format_ts
from shared.topics import topic

from ..helpers import query, wait_for
from .shipped_broker import Probe

NESTED = b"[" * 2048 + b"]" * 2048  # 4 KiB: once enough to stop the collector's batch


def now(offset: timedelta = timedelta(0)) -> str:
    return format_ts(datetime.now(UTC) + offset)


def event(device: str, seq: int, window: str, when: str, score: int = 1, **fields) -> bytes:
    return json.dumps({"v": 1, "id": f"{device}-{seq:08d}", "stream": f"stream-{device}", "seq": seq, "ts": when,
                       "window": window, "type": "rating", "score": score, "scale": 5, **fields}).encode()


class Kiosk:
    """A paho client logged in with a kiosk's account: publishes fast, keeps the acks it gets."""

    def __init__(self, hall, device: str):
        self.device = device
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(device, hall.password(device))
        self.client.max_inflight_messages_set(1000)
        self.acks: dict[str, int] = {}
        self.subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect("127.0.0.1", hall.port, keepalive=30)
        self.client.subscribe(topic(device, "ack"), qos=1)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 10, f"{device} subscribed to its acks")

    def _on_message(self, client, userdata, message):
        ack = json.loads(message.payload)
        self.acks[ack["stream"]] = max(ack["upto_seq"], self.acks.get(ack["stream"], 0))

    def publish(self, payloads, kind: str = "event", retain: bool = False) -> None:
        infos = [self.client.publish(topic(self.device, kind), p, qos=1, retain=retain) for p in payloads]
        wait_for(lambda: all(i.is_published() for i in infos), 60, f"{len(infos)} messages of {self.device} sent")

    def acked(self, seq: int) -> bool:
        return self.acks.get(f"stream-{self.device}", 0) >= seq

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def summary(server, token: str, window: str) -> dict:
    today = datetime.now(timezone(timedelta(hours=8))).date()
    status, body = server.get(f"/api/v1/windows/{window}/summary?from={today - timedelta(days=20)}&to={today}",
                              token)
    assert status == 200, body
    return body


def test_foreign_window_and_backdated_events_are_rejected_acked_and_move_nothing(hall, server):
    token = server.token()
    b = Kiosk(hall, "k-b")
    a = Kiosk(hall, "k-a")
    try:
        b.publish([event("k-b", 1, "w-b", now(), score=5)])
        wait_for(lambda: b.acked(1), 15, "w-b's own rating stored and acked")
        before = summary(server, token, "w-b")
        a.publish([event("k-a", 1, "w-b", now(-timedelta(days=14)), staff="B-1"),   # B's window, two weeks back
                   event("k-a", 2, "w-b", now()),                                    # B's window, now
                   json.dumps({"v": 1, "id": "k-a-00000003", "stream": "stream-k-a", "seq": 3, "ts": now(),
                               "window": "w-b", "type": "presence", "state": "away"}).encode(),
                   event("k-a", 4, "w-a", now(-timedelta(days=14))),                 # its own, before it was added
                   event("k-a", 5, "w-new", now()),                                  # a window nobody made
                   event("k-a", 6, "w-a", now(), score=4)])                          # its own, now: counted
        wait_for(lambda: a.acked(6), 15, "every event of k-a acknowledged")
        assert summary(server, token, "w-b") == before, "B's figures do not move"
        assert query(hall.db, "SELECT window, count(*) FROM ratings GROUP BY window") == [("w-a", 1), ("w-b", 1)]
        assert query(hall.db, "SELECT count(*) FROM windows WHERE window = 'w-new'") == [(0,)]
        assert query(hall.db, "SELECT count(*) FROM cases WHERE window = 'w-b'") == [(0,)]
        assert query(hall.db, "SELECT presence FROM windows WHERE window = 'w-b'") == [("present",)]
        reasons = [r[0] for r in query(hall.db, "SELECT reason FROM rejects WHERE device = 'k-a' ORDER BY id")]
        assert [r.split(" ")[1] for r in reasons] == ["w-b", "w-b", "w-b", "w-a", "w-new"]
        assert all(r.startswith("window: ") for r in reasons)
        assert query(hall.db, "SELECT rejected FROM devices WHERE device = 'k-a'") == [(5,)]
    finally:
        a.close()
        b.close()


def test_20000_new_windows_from_one_kiosk_password_create_nothing(hall, server):
    token = server.token()
    windows_before = query(hall.db, "SELECT count(*) FROM windows")
    listed_before = server.get("/api/v1/windows", token)
    a = Kiosk(hall, "k-a")
    try:
        n = 20_000
        when = now()
        started = time.monotonic()
        a.publish(event("k-a", seq, f"x{seq:05d}", when) for seq in range(1, n + 1))
        wait_for(lambda: a.acked(n), 120, "all 20,000 acknowledged")
        elapsed = time.monotonic() - started
    finally:
        a.close()
    assert query(hall.db, "SELECT count(*) FROM windows") == windows_before
    assert query(hall.db, "SELECT count(*) FROM streams") == [(1,)]
    assert query(hall.db, "SELECT count(*) FROM events") == [(0,)]
    assert server.get("/api/v1/windows", token) == listed_before, "the board's windows are the same"
    assert query(hall.db, "SELECT rejected FROM devices WHERE device = 'k-a'") == [(n,)]
    assert query(hall.db, "SELECT count(*) FROM rejects") == [(200,)], "only the newest are kept"
    print(f"20,000 refused events stored and acked in {elapsed:.1f} s")


def test_a_batch_holding_the_nested_message_stores_and_acks_every_other(hall, server):
    a, b = Kiosk(hall, "k-a"), Kiosk(hall, "k-b")
    try:
        # k-b's events and k-a's poison arrive together, in the collector's same batches; k-b's are spread
        # over the minutes around its registration a moment ago (5 minutes of clock slack either side)
        spread = [event("k-b", s, "w-b", now(timedelta(seconds=2 * s - 250))) for s in range(1, 201)]
        sender = threading.Thread(target=b.publish, args=(spread,))
        sender.start()
        a.publish([NESTED] * 20 + [event("k-a", 1, "w-a", now())])
        sender.join()
        wait_for(lambda: b.acked(200) and a.acked(1), 20, "every valid event acknowledged")
    finally:
        a.close()
        b.close()
    assert query(hall.db, "SELECT device, count(*) FROM events GROUP BY device") == [("k-a", 1), ("k-b", 200)]
    assert query(hall.db, "SELECT count(*) FROM rejects WHERE device = 'k-a' AND reason LIKE '%nests%'") == [(20,)]


def test_a_retained_hostile_status_does_not_wedge_a_restart(hall, server):
    a = Kiosk(hall, "k-a")
    try:
        a.publish([NESTED], kind="status", retain=True)
        wait_for(lambda: query(hall.db, "SELECT count(*) FROM rejects WHERE reason LIKE 'bad status%'") == [(1,)],
                 15, "the hostile status recorded")
    finally:
        a.close()
    server.stop()
    server.start()  # the broker hands the retained status to the collector again
    wait_for(lambda: query(hall.db, "SELECT count(*) FROM rejects WHERE reason LIKE 'bad status%'") == [(2,)],
             15, "the retained copy recorded again")
    b = Kiosk(hall, "k-b")
    try:
        b.publish([event("k-b", s, "w-b", now()) for s in range(1, 11)])
        wait_for(lambda: b.acked(10), 15, "another kiosk's events stored and acknowledged")
    finally:
        b.close()
    assert query(hall.db, "SELECT count(*) FROM events WHERE device = 'k-b'") == [(10,)]


def largest_config() -> bytes:
    """The biggest config the collector publishes: a site roster cut to fit, with a comment link."""
    pin = hash_pin("24681357")
    clerks = [Clerk(f"{n:08d}", "欧阳" * 8, pin) for n in range(2000)]
    config = with_token(build_config(Target("k-a", "w-a", "一号窗口" * 8, "hall"), clerks,
                                     "https://pj.example.cn/ceval/"), "x" * 160)
    return config.to_json()


def test_the_broker_refuses_what_is_larger_than_the_contract_allows(hall):
    """The largest config the collector sends passes; a status a byte over is dropped (nothing retained), and a
    client sending 8 MiB is disconnected. (The broker takes a kiosk's user name as its client id: one
    connection per kiosk at a time.)"""
    config = largest_config()
    assert MAX_CONFIG_BYTES - 2048 < len(config) <= MAX_CONFIG_BYTES
    env = hall.collector_env()
    collector = Probe(hall.port, env["CEVAL_MQTT_USERNAME"], env["CEVAL_MQTT_PASSWORD"])
    reader = Probe(hall.port, "k-a", hall.password("k-a"))
    big = Probe(hall.port, "k-b", hall.password("k-b"))
    huge = Probe(hall.port, "k-b", hall.password("k-b"))
    try:
        assert collector.connect().value == 0 and reader.connect().value == 0 and big.connect().value == 0
        sent = collector.client.publish(topic("k-a", "config"), config, qos=1, retain=True)
        assert not wait_for(lambda: collector.pubacks.get(sent.mid), 10, "the config's PUBACK").is_failure
        reader.subscribe(topic("k-a", "config"))
        wait_for(lambda: reader.messages, 10, "the largest config delivered")
        assert reader.messages == [(topic("k-a", "config"), config)]

        status = json.dumps({"v": 1, "online": True, "pad": "x" * MAX_CONFIG_BYTES}).encode()
        info = big.client.publish(topic("k-b", "status"), status, qos=1, retain=True)
        wait_for(lambda: info.mid in big.pubacks or big.disconnected.is_set(), 10, "the broker's answer")
        assert big.disconnected.is_set() or big.pubacks[info.mid].is_failure
        big.close()
        assert huge.connect().value == 0
        huge.client.publish(topic("k-b", "status"), b"x" * (8 * 1024 * 1024), qos=1, retain=True)
        wait_for(huge.disconnected.is_set, 10, "a client sending 8 MiB dropped")
        # a retained status would come with its SUBACK, before the retained config subscribed after it
        collector.subscribe(topic("k-b", "status"))
        collector.subscribe(topic("k-a", "config"))
        wait_for(lambda: collector.messages, 10, "the retained config, as the collector reads it")
        assert [t for t, _ in collector.messages] == [topic("k-a", "config")], "no oversize status was kept"
    finally:
        for probe in (collector, reader, big, huge):
            probe.close()
