"""The shipped broker configuration on a real Mosquitto, with accounts made by `ceval device add` and
`ceval broker account`: nobody gets in without an account, a kiosk reaches only its own topics, and a
revoked kiosk is refused once the broker reloads (the `hall` fixture: tests/e2e/shipped_broker.py).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from device.runtime import KioskRuntime
from device.settings import load_settings
from shared.timefmt import format_ts
from shared.topics import topic

from ..helpers import ServerProcess, ceval, query, rate, wait_for
from .shipped_broker import Hall, Probe

NOT_AUTHORIZED = 0x87  # what Mosquitto 2.0 answers an MQTT 5 client that the ACL or the accounts refuse


def connack(hall: Hall, username: str | None, password: str | None = None) -> mqtt.ReasonCode:
    probe = Probe(hall.port, username, password)
    try:
        return probe.connect()
    finally:
        probe.close()


def event(device: str, window: str, seq: int) -> bytes:
    return json.dumps({"v": 1, "id": f"{device}-at-{window}-{seq:06d}", "stream": f"stream-{device}", "seq": seq,
                       "ts": format_ts(datetime.now(UTC)), "window": window, "type": "rating",
                       "score": 1, "scale": 5}).encode()


def test_without_an_account_nobody_gets_in(hall):
    assert connack(hall, None).value == NOT_AUTHORIZED, "anonymous"
    assert connack(hall, "k-a", "not-its-password").is_failure, "a wrong password"
    assert connack(hall, "k-zz", hall.password("k-a")).is_failure, "a device with no account"
    assert connack(hall, "k-a", hall.password("k-a")).value == 0, "its own account"


def test_a_kiosk_cannot_publish_to_or_read_another_kiosks_topics(hall):
    env = hall.collector_env()
    server = ServerProcess(hall.db, hall.url, env=env).start()
    a = Probe(hall.port, "k-a", hall.password("k-a"))
    try:
        assert a.connect().value == 0
        # the collector publishes each confirmed kiosk's retained config
        wait_for(lambda: query(hall.db, "SELECT count(*) FROM devices WHERE config_sent IS NOT NULL") == [(2,)],
                 10, "both configs published")

        for kind in ("event", "status"):
            assert a.publish(topic("k-b", kind), event("k-a", "w-b", 1)).value == NOT_AUTHORIZED, kind
        assert a.publish(topic("k-a", "ack"), b'{"v":1,"stream":"x","upto_seq":1}').value == NOT_AUTHORIZED, \
            "a kiosk cannot forge acks"
        # Reading: Mosquitto 2.0's ACL file does not refuse a SUBSCRIBE (its SUBACK grants it); it checks every
        # message it would deliver, retained ones too. So k-b's topics are subscribed first, then k-a's own
        # config: messages on one connection arrive in order, and k-b's retained config would come first.
        b = Probe(hall.port, "k-b", hall.password("k-b"))
        try:
            assert b.connect().value == 0
            b.subscribe(topic("k-b", "config"))
            wait_for(lambda: b.messages, 5, "k-b's retained config, as k-b reads it")
        finally:
            b.close()
        for kind in ("config", "ack", "invite", "event", "status"):
            assert a.subscribe(topic("k-b", kind)).value in (1, NOT_AUTHORIZED), kind
        a.subscribe("ceval/#")
        assert a.subscribe(topic("k-a", "config")).value == 1
        wait_for(lambda: any(t == topic("k-a", "config") for t, _ in a.messages), 5, "its own retained config")
        assert all("/k-b/" not in t for t, _ in a.messages), a.messages

        assert a.publish(topic("k-a", "event"), event("k-a", "w-a", 1)).value == 0
        wait_for(lambda: query(hall.db, "SELECT count(*) FROM ratings WHERE event_id = 'k-a-at-w-a-000001'")
                 == [(1,)], 10, "k-a's own event stored")
        # the forged event went first on the same connection: had it reached the collector, it would be stored
        assert query(hall.db, "SELECT count(*) FROM ratings WHERE window = 'w-b'") == [(0,)]
        assert query(hall.db, "SELECT window FROM ratings") == [("w-a",)]
        assert query(hall.db, "SELECT count(*) FROM rejects WHERE topic LIKE 'ceval/v1/k-b/%'") == [(0,)]
        assert all("/k-b/" not in t for t, _ in a.messages), a.messages
        assert query(hall.db, "SELECT online FROM devices WHERE device = 'k-b'") == [(0,)], "no status forged"
    finally:
        a.close()
        server.stop()


def test_the_generated_kiosk_config_delivers_and_a_revoked_kiosk_is_refused_after_the_reload(hall):
    server = ServerProcess(hall.db, hall.url, env=hall.collector_env()).start()
    kiosk = KioskRuntime(load_settings(hall.kiosk_configs["k-a"]))
    watcher = Probe(hall.port, "k-a", hall.password("k-a"))
    try:
        kiosk.start()
        rating = rate(kiosk, 4)
        wait_for(lambda: query(hall.db, "SELECT window FROM ratings WHERE event_id = ?", (rating,)) == [("w-a",)],
                 10, "the kiosk's rating stored")
        wait_for(lambda: kiosk.outbox.pending(0, 10) == [], 10, "the ack back at the kiosk")

        revoked = ceval("device", "revoke", "k-a", "--db", str(hall.db), "--broker-dir", str(hall.broker_dir))
        assert revoked.returncode == 0, revoked.stderr
        assert "systemctl reload mosquitto" in revoked.stdout
        assert query(hall.db, "SELECT confirmed FROM devices WHERE device = 'k-a'") == [(0,)]
        assert query(hall.db, "SELECT device FROM windows WHERE window = 'w-a'") == [(None,)]
        assert query(hall.db, "SELECT window FROM ratings WHERE event_id = ?", (rating,)) == [("w-a",)], \
            "its history stays"
        assert watcher.connect().value == 0, "the broker has not reloaded yet"

        hall.broker.reload()
        wait_for(watcher.disconnected.is_set, 10, "the broker to drop the revoked kiosk")
        wait_for(lambda: connack(hall, "k-a", hall.password("k-a")).value == NOT_AUTHORIZED, 10,
                 "the revoked kiosk refused")
        wait_for(lambda: not kiosk.publisher.connected, 10, "the kiosk's own connection gone")
        assert connack(hall, "k-b", hall.password("k-b")).value == 0, "the other kiosk still gets in"
        assert "collector connected" in server.log.read_text()
    finally:
        watcher.close()
        kiosk.stop()
        server.stop()
