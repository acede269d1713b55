"""The shipped broker configuration on a real Mosquitto, with accounts made by `ceval device add` and
`ceval broker account`: nobody gets in without an account, a kiosk reaches only its own topics, and a
revoked kiosk is refused once the broker reloads.

The broker runs deploy/mosquitto/mosquitto.conf and deploy/mosquitto/ceval.conf as shipped, with only
their paths and port moved into a folder of the test's own. Started as root, Mosquitto drops to the
`mosquitto` user as in production, so that folder is one that user can read.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from ceval.demo.broker import Mosquitto, find_mosquitto, free_port
from device.runtime import KioskRuntime
from device.settings import load_settings
from shared.timefmt import format_ts
from shared.topics import topic

from ..helpers import ROOT, ServerProcess, ceval, query, rate, wait_for

DEPLOY = ROOT / "deploy" / "mosquitto"
NOT_AUTHORIZED = 0x87  # what Mosquitto 2.0 answers an MQTT 5 client that the ACL or the accounts refuse

pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="needs mosquitto")


def _moved(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the shipped config no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


@dataclass
class Hall:
    """A broker running the shipped configuration, the server's database and where the files go."""
    base: Path
    port: int
    broker: Mosquitto | None = None
    kiosk_configs: dict[str, Path] = field(default_factory=dict)

    @property
    def broker_dir(self) -> Path:
        return self.base / "etc" / "ceval"

    @property
    def db(self) -> Path:
        return self.base / "ceval.sqlite3"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def collector_env(self) -> dict[str, str]:
        lines = (self.base / "collector.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)

    def add_device(self, device: str, window: str) -> Path:
        out = self.base / f"{device}.toml"
        result = ceval("device", "add", device, "--window", window, "--db", str(self.db), "--broker", self.url,
                       "--out", str(out), "--data-dir", str(self.base / "kiosks" / device),
                       "--broker-dir", str(self.broker_dir))
        assert result.returncode == 0, result.stderr
        self.kiosk_configs[device] = out
        return out

    def password(self, device: str) -> str:
        return load_settings(self.kiosk_configs[device]).password


@pytest.fixture
def hall():
    """Accounts for the collector and kiosks k-a (window w-a) and k-b (window w-b), then the broker."""
    base = Path(tempfile.mkdtemp(prefix="ceval-broker-"))  # not under pytest's 0700 folder: mosquitto reads it
    base.chmod(0o755)
    for sub in ("etc/ceval", "etc/conf.d", "lib", "log", "run", "kiosks"):
        (base / sub).mkdir(parents=True)
    if os.geteuid() == 0:  # as on a server: the broker's folders are its own, the accounts root:mosquitto
        uid, gid = pwd.getpwnam("mosquitto").pw_uid, grp.getgrnam("mosquitto").gr_gid
        for sub in ("lib", "log", "run"):
            os.chown(base / sub, uid, gid)
        os.chown(base / "etc" / "ceval", 0, gid)
        (base / "etc" / "ceval").chmod(0o750)
    hall = Hall(base, free_port())
    main = _moved((DEPLOY / "mosquitto.conf").read_text(), {
        "/run/mosquitto/": f"{base}/run/", "/var/lib/mosquitto/": f"{base}/lib/",
        "/var/log/mosquitto/": f"{base}/log/", "/etc/mosquitto/conf.d": f"{base}/etc/conf.d"})
    (base / "etc" / "mosquitto.conf").write_text(main)
    (base / "etc" / "conf.d" / "ceval.conf").write_text(_moved((DEPLOY / "ceval.conf").read_text(), {
        "/etc/mosquitto/ceval/": f"{hall.broker_dir}/", "\nlistener 1883\n": f"\nlistener {hall.port} 127.0.0.1\n"}))

    made = ceval("broker", "account", "collector", "--broker-dir", str(hall.broker_dir),
                 "--out", str(base / "collector.env"))
    assert made.returncode == 0, made.stderr
    hall.add_device("k-a", "w-a")
    hall.add_device("k-b", "w-b")
    hall.broker = Mosquitto(base / "work", hall.port, config_file=base / "etc" / "mosquitto.conf").start()
    try:
        yield hall
    finally:
        hall.broker.stop()
        shutil.rmtree(base, ignore_errors=True)


class Probe:
    """An MQTT 5 client that keeps what the broker answers: CONNACK, PUBACK and SUBACK reason codes."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None):
        self.port = port
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack: mqtt.ReasonCode | None = None
        self.disconnected = threading.Event()
        self.pubacks: dict[int, mqtt.ReasonCode] = {}
        self.subacks: dict[int, list[mqtt.ReasonCode]] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, f, rc, p: self.disconnected.set()
        self.client.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subacks.__setitem__(mid, codes)
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = reason_code

    def connect(self) -> mqtt.ReasonCode:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        wait_for(lambda: self.connack is not None, 10, "the CONNACK")
        return self.connack

    def publish(self, name: str, payload: bytes) -> mqtt.ReasonCode:
        info = self.client.publish(name, payload, qos=1)
        return wait_for(lambda: self.pubacks.get(info.mid), 10, f"the PUBACK of {name}")

    def subscribe(self, name: str) -> mqtt.ReasonCode:
        result, mid = self.client.subscribe(name, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        return wait_for(lambda: self.subacks.get(mid), 10, f"the SUBACK of {name}")[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


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
