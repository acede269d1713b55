"""Ingest throughput: N events from simulated kiosks through Mosquitto and the collector into SQLite.

One private Mosquitto, two figures from the same run:

- raw: one paho client publishes N QoS 1 messages of an event's size (at most
  WINDOW in flight, like a kiosk), one paho client receives them at QoS 1; the
  rate runs from the first publish until the last message arrived.
- ingest: K real kiosks (`KioskRuntime`: outbox and publisher) send N rating
  events to the real server (`ceval server`, a process of its own, as in
  production); the rate runs from starting the publishers until every outbox is
  empty, that is until every event was stored in a committed transaction and
  its ack came back. The server's `ratings` table must then hold exactly N rows.

The outboxes are filled before the clock starts: a kiosk's durable writes are
fsync-bound and not what this measures. The target is ingest/raw >= 0.5.

    python -m bench.ingest [--kiosks 6] [--events 20000]

The last line printed is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paho.mqtt.client as mqtt

from device.runtime import KioskRuntime
from device.settings import KioskSettings
from server.broker import Mosquitto, free_port
from shared.clock import SystemClock
from shared.contract import Event, Status
from shared.timefmt import format_ts
from shared.topics import topic

log = logging.getLogger(__name__)

WINDOW = 100  # QoS 1 messages in flight per publisher: the kiosk publisher's default
RAW_TOPIC = "bench/raw"
PROBE_DEVICE = "bench-probe"


class BenchError(RuntimeError):
    pass


def _wait_until(condition, timeout: float, what: str, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def _client(client_id: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                       clean_session=True)


def event_size() -> int:
    """Bytes of a typical rating event, as a kiosk sends it."""
    sample = Event(id="01JDQ6Y1ZC6J1W9M0X9QK3T1AB", stream="k7f3q9x2abcdefgh", seq=1042,
                   ts=format_ts(SystemClock().now()), window="w03", type="rating", score=5, scale=5)
    return len(sample.to_json())


# ---------------------------------------------------------------- raw broker baseline
def raw_seconds(broker: Mosquitto, n: int, size: int, timeout: float) -> float:
    """paho QoS 1 -> Mosquitto -> paho QoS 1: seconds from the first publish to the n-th arrival."""
    received = 0
    done, subscribed, connected = threading.Event(), threading.Event(), threading.Event()

    def on_message(client, userdata, message):
        nonlocal received
        received += 1
        if received == n:
            done.set()

    sub = _client("bench-raw-sub")
    sub.on_connect = lambda client, *_: client.subscribe(RAW_TOPIC, qos=1)
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = on_message
    pub = _client("bench-raw-pub")
    pub.max_inflight_messages_set(WINDOW)
    pub.max_queued_messages_set(0)
    pub.on_connect = lambda *_: connected.set()
    try:
        for client in (sub, pub):
            client.connect(broker.host, broker.port, keepalive=30)
            client.loop_start()
        _wait_until(lambda: subscribed.is_set() and connected.is_set(), 10, "raw clients connected")
        payload = b"x" * size
        start = time.perf_counter()
        for _ in range(n):
            pub.publish(RAW_TOPIC, payload, qos=1)
        if not done.wait(timeout):
            raise BenchError(f"raw baseline: {received} of {n} messages arrived within {timeout:.0f} s")
        return time.perf_counter() - start
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()


# ---------------------------------------------------------------- the server
def start_server(tmp: Path, broker: Mosquitto, db: Path, timeout: float = 30.0) -> subprocess.Popen:
    """`ceval server` in its own process; returns once its web app answers."""
    port = free_port()
    out = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "--log-level", "WARNING", "server",
                             "--db", str(db), "--broker", broker.url, "--listen", f"127.0.0.1:{port}"],
                            stdout=out, stderr=subprocess.STDOUT)
    out.close()

    def answers() -> bool:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with {proc.returncode}: "
                             f"{(tmp / 'server.log').read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
        except urllib.error.HTTPError:
            pass  # it answered
        except OSError:
            return False
        return True

    try:
        _wait_until(answers, timeout, "the server's web app answering", interval=0.1)
    except BaseException:
        stop_server(proc)
        raise
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_db(db: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_collector(broker: Mosquitto, db: Path, timeout: float = 30.0) -> None:
    """Until the collector stores what arrives: a probe status must reach the database."""
    probe = _client(PROBE_DEVICE)
    probe.connect(broker.host, broker.port, keepalive=30)
    probe.loop_start()
    last_sent = 0.0

    def stored() -> bool:
        nonlocal last_sent
        if time.monotonic() - last_sent > 0.5:
            probe.publish(topic(PROBE_DEVICE, "status"), Status(online=False).to_json(), qos=1)
            last_sent = time.monotonic()
        return bool(_read_db(db, "SELECT 1 FROM devices WHERE device = ?", (PROBE_DEVICE,)))

    try:
        _wait_until(stored, timeout, "the collector storing a probe", interval=0.05)
    finally:
        probe.disconnect()
        probe.loop_stop()


# ---------------------------------------------------------------- the kiosks
def make_kiosks(tmp: Path, broker: Mosquitto, kiosks: int) -> list[KioskRuntime]:
    return [KioskRuntime(KioskSettings(device=f"k{i}", window=f"w{i:02d}", broker=broker.url,
                                       data_dir=tmp / f"k{i}")) for i in range(kiosks)]


def fill(runtime: KioskRuntime, count: int) -> None:
    """`count` ratings committed to the kiosk's outbox, as presses would leave them."""
    clock, window = SystemClock(), runtime.settings.window
    for i in range(count):
        runtime.outbox.append(ts=format_ts(clock.now()), window=window, type="rating", staff=None,
                              score=i % 5 + 1, scale=5, reasons=())


def ingest_seconds(runtimes: list[KioskRuntime], timeout: float) -> float:
    """Seconds from starting the publishers until every outbox is empty (every event acked)."""
    start = time.perf_counter()
    for runtime in runtimes:
        runtime.publisher.start()
    try:
        _wait_until(lambda: all(r.outbox.count() == 0 for r in runtimes), timeout, "every event acknowledged")
    except BenchError:
        left = sum(r.outbox.count() for r in runtimes)
        raise BenchError(f"ingest: {left} events still unacknowledged after {timeout:.0f} s") from None
    return time.perf_counter() - start


# ---------------------------------------------------------------- the run
def run(kiosks: int, events: int, timeout: float) -> dict:
    size = event_size()
    with tempfile.TemporaryDirectory(prefix="ceval-bench-") as name:
        tmp = Path(name)
        broker = Mosquitto(tmp / "broker").start()
        server = None
        runtimes: list[KioskRuntime] = []
        try:
            raw_s = raw_seconds(broker, events, size, timeout)

            db = tmp / "server.sqlite3"
            server = start_server(tmp, broker, db)
            wait_collector(broker, db)
            runtimes = make_kiosks(tmp, broker, kiosks)
            shares = [events // kiosks + (i < events % kiosks) for i in range(kiosks)]
            with ThreadPoolExecutor(kiosks) as pool:
                list(pool.map(fill, runtimes, shares))  # kiosks' fsyncs overlap; list() re-raises
            ingest_s = ingest_seconds(runtimes, timeout)

            stored = _read_db(db, "SELECT count(*) FROM ratings")[0][0]
            if stored != events:
                raise BenchError(f"ingest: {events} events acknowledged but {stored} ratings stored")
        finally:
            for runtime in runtimes:
                runtime.stop()
            if server:
                stop_server(server)
            broker.stop()
    raw_per_s, ingest_per_s = events / raw_s, events / ingest_s
    return {"events": events, "kiosks": kiosks, "payload_bytes": size, "window": WINDOW,
            "raw_s": round(raw_s, 3), "ingest_s": round(ingest_s, 3),
            "raw_per_s": round(raw_per_s), "ingest_per_s": round(ingest_per_s),
            "ratio": round(ingest_per_s / raw_per_s, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=6, help="simulated kiosks (default 6)")
    parser.add_argument("--events", type=int, default=20000, help="events in all, and raw messages (default 20000)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds each phase may take (default 90)")
    args = parser.parse_args(argv)
    if args.kiosks < 1 or args.events < args.kiosks:
        parser.error("need at least one kiosk and one event per kiosk")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        figures = run(args.kiosks, args.events, args.timeout)
    except BenchError as exc:
        log.error("%s", exc)
        return 1
    n = figures["events"]
    print(f"raw broker, paho QoS 1 -> paho QoS 1:       {n} messages in {figures['raw_s']:.2f} s"
          f" = {figures['raw_per_s']}/s")
    print(f"ingest, {figures['kiosks']} kiosks -> collector -> SQLite: {n} events in {figures['ingest_s']:.2f} s"
          f" = {figures['ingest_per_s']}/s, every one stored and acknowledged")
    print(f"ratio ingest/raw: {figures['ratio']:.2f} (target >= 0.5)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
