"""Helpers the tests share: waiting with a deadline, real server and kiosk processes."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt

from ceval.demo.broker import free_port, port_open
from device import screens
from device.runtime import KioskRuntime
from device.settings import KioskSettings

ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition, timeout: float = 15.0, what: str = "the condition", interval: float = 0.02):
    """Poll until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def retained_topics(broker, timeout: float = 10.0) -> list[str]:
    """The topics that hold a retained message on the broker."""
    with connected_client(broker) as client:
        return _retained(client, timeout)


def clear_retained(broker, timeout: float = 10.0) -> None:
    """Delete every retained message on the broker (an empty retained payload deletes one), on one connection."""
    with connected_client(broker) as client:
        for info in [client.publish(name, b"", qos=1, retain=True) for name in _retained(client, timeout)]:
            info.wait_for_publish(timeout)


def _retained(client: mqtt.Client, timeout: float) -> list[str]:
    """The retained topics, read by a connected `client` (it stays subscribed to every topic).

    The broker sends a new subscription's retained messages before anything published after it, so once a
    message of our own comes back, every retained one has arrived."""
    marker = f"tests/retained/{secrets.token_hex(8)}"
    retained: list[str] = []
    subscribed, back = threading.Event(), threading.Event()

    def on_message(client, userdata, message):
        if message.topic == marker:
            back.set()
        elif message.retain and message.payload:
            retained.append(message.topic)

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.subscribe("#", qos=1)
    wait_for(subscribed.is_set, timeout, "the subscription to every topic")
    client.publish(marker, b"-", qos=1)
    wait_for(back.is_set, timeout, "every retained message")
    return retained


@contextlib.contextmanager
def connected_client(broker, client: mqtt.Client | None = None, **connect):
    """`client` (or a new one) connected to the broker (`connect`: more of paho's connect() arguments), its
    network loop running; disconnected after."""
    client = client or mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tests-{secrets.token_hex(4)}")
    client.connect(broker.host, broker.port, **connect)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def ceval(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ceval.main", *args], cwd=ROOT, capture_output=True,
                          text=True, **kwargs)


def query(db: Path, sql: str, params=()) -> list[tuple]:
    """Read the server's database as an outsider would."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def write(db: Path, *statements) -> None:
    """Write to the server's database as an outsider would: each (sql, *params), in one transaction."""
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        with conn:
            for sql, *params in statements:
                conn.execute(sql, params)
    finally:
        conn.close()


@contextlib.contextmanager
def traced(store):
    """The SQL statements `store` runs inside the block, each with its values written in."""
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        store.db.conn.set_trace_callback(None)


def query_plan(store, sql: str) -> str:
    """What SQLite does for `sql` on `store`'s database (EXPLAIN QUERY PLAN, its steps in one line)."""
    return " ".join(row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())


class ServerProcess:
    """`ceval server` as a real process that tests can kill."""

    def __init__(self, db: Path, broker_url: str, *extra: str, env: dict[str, str] | None = None):
        self.db = db
        self.broker_url = broker_url
        self.extra = extra
        self.env = env  # added to the environment it inherits (CEVAL_* settings)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = db.with_suffix(".server.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        with open(self.log, "ab") as out:  # the server keeps its own copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ceval.main", "server", "--db", str(self.db), "--broker", self.broker_url,
                 "--listen", f"127.0.0.1:{self.port}", "--client-id", f"collector-{self.port}", *self.extra], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **self.env} if self.env else None)
        wait_for(lambda: port_open("127.0.0.1", self.port) or self.process.poll() is not None, 30,
                 "the server to listen")
        assert self.process.poll() is None, self.log.read_text()
        wait_for(lambda: "collector connected" in self.log.read_text(), 15, "the collector to connect")
        return self

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def token(self) -> str:
        result = ceval("token", "create", "tests", "--db", str(self.db))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def get(self, path: str, token: str | None = None) -> tuple[int, object]:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


def kiosk_settings(data_dir: Path, broker_url: str, device: str, window: str, **kw) -> KioskSettings:
    defaults = dict(ack_timeout=1.0, thanks_seconds=0.001, reasons_timeout=5.0, min_interval=0.0)
    return KioskSettings(device=device, window=window, broker=broker_url, data_dir=data_dir, **{**defaults, **kw})


def write_kiosk_config(path: Path, broker_url: str, device: str, window: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'device = "{device}"\nwindow = "{window}"\nbroker = "{broker_url}"\ndata_dir = "."\n'
                    'ack_timeout = 1\nthanks_seconds = 0.01\nmin_interval = 0\n', encoding="utf-8")
    return path


def rate(runtime: KioskRuntime, score: int, reasons=()) -> str:
    """A customer rates: wait out the thank-you, press, answer the reason question. Returns the event id."""
    kiosk = runtime.kiosk
    wait_for(lambda: runtime.act(kiosk.tick) or kiosk.screen == screens.READY, 5, "the rating screen")
    assert runtime.act(kiosk.press, score)
    if kiosk.screen == screens.RATED:
        runtime.act(kiosk.choose_reasons, list(reasons))
    assert kiosk.screen == screens.THANKS
    return kiosk.last_rating.id


def outbox_rows(data_dir: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(str(data_dir / "outbox.sqlite3"))
    try:
        return conn.execute("SELECT seq, payload FROM outbox ORDER BY seq").fetchall()
    finally:
        conn.close()



def flood_allowed(db):
    """These kiosks rate a hundred times a second (no min_interval): lift the server's per-kiosk quota of
    events a minute (server/domain/quota.py), meant for humans, before the server starts."""
    # imported here: the kiosk's own test run (scripts/arm64-check.sh) has no server packages
    from server.store import Store
    from server.store.db import open_db

    store = Store(open_db(db))
    try:
        store.settings.set_device_rate(100_000)
    finally:
        store.db.close()
    return db


def csv_sections(text: str) -> dict[str, list[list[str]]]:
    """A report's CSV (server/web/report_tables.py): each table headed by its title, an empty line between them."""
    import csv
    import io

    sections: dict[str, list[list[str]]] = {}
    title = None
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if not row:
            title = None
        elif title is None:
            title = row[0]
            sections[title] = []
        else:
            sections[title].append(row)
    return sections


def append_rating(outbox):
    """A rating of 4 on a 5-level scale at w01, stored in a kiosk's outbox."""
    return outbox.append(ts="2026-11-23T09:00:00.000+08:00", window="w01", type="rating", score=4, scale=5)
