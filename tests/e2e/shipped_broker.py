"""The shipped broker configuration on a real Mosquitto, for the end-to-end tests: a hall with the collector's
and two kiosks' accounts made by `ceval`, and an MQTT 5 probe that keeps what the broker answers.

The broker runs deploy/mosquitto/mosquitto.conf and deploy/mosquitto/ceval.conf as shipped, with only
their paths and port moved into a folder of the hall's own. Started as root, Mosquitto drops to the
`mosquitto` user as in production, so that folder is one that user can read.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from ceval.demo.broker import Mosquitto, ShippedLayout, free_port
from device.settings import load_settings

from ..helpers import ceval, wait_for


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


@contextmanager
def shipped_hall() -> Iterator[Hall]:
    """Accounts for the collector and kiosks k-a (window w-a) and k-b (window w-b), then the broker."""
    base = Path(tempfile.mkdtemp(prefix="ceval-broker-"))  # not under pytest's 0700 folder: mosquitto reads it
    layout = ShippedLayout(base, free_port()).write()
    (base / "kiosks").mkdir()
    hall = Hall(base, layout.port)
    made = ceval("broker", "account", "collector", "--broker-dir", str(hall.broker_dir),
                 "--out", str(base / "collector.env"))
    assert made.returncode == 0, made.stderr
    hall.add_device("k-a", "w-a")
    hall.add_device("k-b", "w-b")
    hall.broker = layout.broker().start()
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
