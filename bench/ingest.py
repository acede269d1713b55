"""Ingest throughput: N events from simulated kiosks through Mosquitto and the collector into SQLite.

One private Mosquitto; in the same run:

- raw: one paho client publishes N QoS 1 messages of an event's size (at most
  WINDOW in flight, like a kiosk) and one paho client, in a process of its own
  like the collector, receives them at QoS 1; the rate runs from the first
  publish until the last message arrived. The same with Mosquitto's own C
  clients (mosquitto_pub -> mosquitto_sub) shows what the broker itself does.
  Raw rounds run on both sides of each ingest round and their median is
  taken, because this machine's speed drifts.
- ingest: K real kiosks (`KioskRuntime`: outbox and publisher), each a process
  of its own as each is a device of its own in a hall, send N rating events to
  the real server (`ceval server`, a process of its own, as in
  production); the rate runs from starting the publishers until every outbox is
  empty, that is until every event was stored in a committed transaction and
  its ack came back. The server's `ratings` table must then hold exactly N rows
  per ingest round.

Raw and ingest rounds alternate, raw first and last (the same kiosks send N
events more in each ingest round, as a hall's kiosks do), and each side's median
is taken: a single ingest round varies as much as a raw one does.

The outboxes are filled before the clock starts: a kiosk's durable writes are
fsync-bound and not what this measures. The target is ingest/raw (paho) >= 0.6.

    python -m bench.ingest [--kiosks 6] [--events 20000] [--rounds 3]

The last line printed is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import statistics
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

from ceval.demo.broker import Mosquitto, free_port
from device.runtime import KioskRuntime
from device.settings import KioskSettings
from shared.clock import SystemClock
from shared.contract import Event, Status
from shared.timefmt import format_ts
from shared.topics import topic

log = logging.getLogger(__name__)

WINDOW = 100  # QoS 1 messages in flight for the raw publisher (paho bounds it); a kiosk bounds its own (500)
RAW_TOPIC = "bench/raw"
PROBE_DEVICE = "bench-probe"
ROOT = Path(__file__).resolve().parents[1]  # where `-m ceval.main` and `-m bench.ingest` import from


class BenchError(RuntimeError):
    pass


def _wait_until(condition, timeout: float, what: str, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


@contextlib.contextmanager
def _killed_after(proc: subprocess.Popen, timeout: float):
    """Kill `proc` if the block is still waiting on it after `timeout` seconds (its reads then end)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _client(client_id: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                       clean_session=True)


def event_size() -> int:
    """Bytes of a typical rating event, as a kiosk sends it."""
    sample = Event(id="01JDQ6Y1ZC6J1W9M0X9QK3T1AB", stream="k7f3q9x2abcdefgh", seq=1042,
                   ts=format_ts(SystemClock().now()), window="w03", type="rating", score=5, scale=5,
                   prev="0" * 64, sig="A" * 86 + "==")  # chained and signed (shared/signing.py)
    return len(sample.to_json())


# ---------------------------------------------------------------- raw broker baselines
def receive(host: str, port: int, n: int) -> None:
    """The raw baseline's receiver, run in a process of its own like the collector.

    Says `ready` on stdout once subscribed and `done` once n messages arrived.
    """
    received = 0

    def on_message(client, userdata, message):
        nonlocal received
        received += 1
        if received == n:
            sys.stdout.write("done\n")
            sys.stdout.flush()
            client.disconnect()

    def on_subscribe(*_):
        sys.stdout.write("ready\n")
        sys.stdout.flush()

    sub = _client("bench-raw-sub")
    sub.on_connect = lambda client, *_: client.subscribe(RAW_TOPIC, qos=1)
    sub.on_subscribe = on_subscribe
    sub.on_message = on_message
    sub.connect(host, port, keepalive=30)
    sub.loop_forever()


def _expect(proc: subprocess.Popen, word: str, what: str) -> None:
    line = proc.stdout.readline().strip()
    if line != word:
        raise BenchError(f"{what}: expected {word!r} from the receiver, got {line!r} (exit {proc.poll()})")


def paho_seconds(broker: Mosquitto, n: int, size: int, timeout: float) -> float:
    """paho QoS 1 -> Mosquitto -> paho QoS 1: seconds from the first publish to the n-th arrival."""
    receiver = subprocess.Popen(
        [sys.executable, "-c", f"from bench.ingest import receive; receive({broker.host!r}, {broker.port}, {n})"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pub = _client("bench-raw-pub")
    pub.max_inflight_messages_set(WINDOW)
    pub.max_queued_messages_set(0)
    connected = threading.Event()
    pub.on_connect = lambda *_: connected.set()
    try:
        with _killed_after(receiver, 10):
            _expect(receiver, "ready", "raw baseline")
        pub.connect(broker.host, broker.port, keepalive=30)
        pub.loop_start()
        _wait_until(connected.is_set, 10, "raw publisher connected")
        payload = b"x" * size
        start = time.perf_counter()
        for _ in range(n):
            pub.publish(RAW_TOPIC, payload, qos=1)
        with _killed_after(receiver, timeout):
            _expect(receiver, "done", f"raw baseline within {timeout:.0f} s")
        return time.perf_counter() - start
    finally:
        pub.disconnect()
        pub.loop_stop()
        _end(receiver)


def mosquitto_clients_seconds(broker: Mosquitto, tmp: Path, n: int, size: int, timeout: float) -> float | None:
    """mosquitto_pub QoS 1 -> Mosquitto -> mosquitto_sub QoS 1, the broker's own clients; None without them."""
    pub_bin, sub_bin = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if not (pub_bin and sub_bin):
        return None
    where = ["-h", broker.host, "-p", str(broker.port), "-t", RAW_TOPIC + "-c", "-q", "1"]
    lines = tmp / "payloads.txt"
    lines.write_bytes((b"x" * size + b"\n") * n)
    # A retained message reaches the receiver the moment its subscription stands: that is its "ready".
    subprocess.run([pub_bin, *where, "-r", "-m", "ready"], check=True, timeout=10)
    receiver = subprocess.Popen([sub_bin, *where, "-C", str(n + 1)], stdout=subprocess.PIPE, text=True)
    try:
        with _killed_after(receiver, 10):
            _expect(receiver, "ready", "mosquitto_sub")
        start = time.perf_counter()
        with lines.open("rb") as payloads, _killed_after(receiver, timeout):
            subprocess.run([pub_bin, *where, "-l", "-M", str(WINDOW)], stdin=payloads, check=True, timeout=timeout)
            receiver.stdout.read()  # until it exits after the n-th message
        if receiver.wait() != 0:
            raise BenchError(f"mosquitto_sub: not every message arrived within {timeout:.0f} s")
        return time.perf_counter() - start
    finally:
        _end(receiver)


# ---------------------------------------------------------------- the server
def start_server(tmp: Path, broker: Mosquitto, db: Path, timeout: float = 30.0) -> subprocess.Popen:
    """`ceval server` in its own process; returns once its web app answers. The bench's kiosks send
    thousands of events a minute: the quota meant for humans (server/domain/quota.py) is lifted first."""
    from server.store import Store
    from server.store.db import open_db
    store = Store(open_db(db))
    try:
        store.settings.set_device_rate(100_000)
    finally:
        store.db.close()
    port = free_port()
    with open(tmp / "server.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ceval.main", "--log-level", "WARNING", "server",
                                 "--db", str(db), "--broker", broker.url, "--listen", f"127.0.0.1:{port}"],
                                stdout=out, stderr=subprocess.STDOUT)

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
        _end(proc)
        raise
    return proc


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_db(db: Path, sql: str, params=()) -> list[tuple]:
    """Rows of the server's database, read only, on a connection of its own (the server writes meanwhile)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
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
        return bool(read_db(db, "SELECT 1 FROM devices WHERE device = ?", (PROBE_DEVICE,)))

    try:
        _wait_until(stored, timeout, "the collector storing a probe", interval=0.05)
    finally:
        probe.disconnect()
        probe.loop_stop()


# ---------------------------------------------------------------- the kiosks
def kiosk(tmp: Path, broker: Mosquitto, i: int) -> KioskRuntime:
    return KioskRuntime(KioskSettings(device=f"k{i}", window=f"w{i:02d}", broker=broker.url, data_dir=tmp / f"k{i}"))


def fill(runtime: KioskRuntime, count: int) -> None:
    """`count` ratings committed to the kiosk's outbox, as presses would leave them."""
    clock, window = SystemClock(), runtime.settings.window
    for i in range(count):
        runtime.outbox.append(ts=format_ts(clock.now()), window=window, type="rating", staff=None,
                              score=i % 5 + 1, scale=5, reasons=())


def run_kiosk(device: str, window: str, broker_url: str, data_dir: str) -> None:
    """One kiosk's process: says `ready`, starts publishing on `go`, says `done` when its outbox is empty."""
    runtime = KioskRuntime(KioskSettings(device=device, window=window, broker=broker_url, data_dir=Path(data_dir)))
    filled = runtime.outbox.count()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    publisher = runtime.publisher
    publisher.start()
    try:
        # The publisher counts what acks deleted: watching that costs the kiosk nothing, where asking the outbox
        # every few milliseconds would take its lock and read its file while the publisher needs them.
        while publisher.acked < filled:
            time.sleep(0.005)
        left = runtime.outbox.count()
        print("done" if not left else f"{left} events still in the outbox", flush=True)
    finally:
        runtime.publisher.stop()
        runtime.outbox.close()


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time (user and system) these processes used so far."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):  # ended
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The processes `pid` started (the server's store process among them)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def ingest_seconds(runtimes: list[KioskRuntime], broker: Mosquitto, server: int,
                   timeout: float) -> tuple[float, dict[str, float]]:
    """Seconds from starting the kiosks' publishers until every outbox is empty (every event acked), and the
    cores each part used meanwhile: the server (with its store process), the broker and the kiosks."""
    procs = []
    for r in runtimes:
        r.outbox.close()  # its process opens it
        procs.append(subprocess.Popen(
            [sys.executable, "-c", "from bench.ingest import run_kiosk; run_kiosk(*"
             f"{(r.settings.device, r.settings.window, broker.url, str(r.settings.data_dir))!r})"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    try:
        for proc in procs:
            with _killed_after(proc, 30):
                _expect(proc, "ready", "a kiosk process")
        parts = {"server": [server, *_children(server)], "broker": [broker.process.pid],
                 "kiosks": [proc.pid for proc in procs]}
        used = {part: _cpu_seconds(pids) for part, pids in parts.items()}
        start = time.perf_counter()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            with _killed_after(proc, timeout):
                _expect(proc, "done", f"every event acknowledged within {timeout:.0f} s")
        seconds = time.perf_counter() - start
        return seconds, {part: round((_cpu_seconds(pids) - used[part]) / seconds, 2) for part, pids in parts.items()}
    finally:
        for proc in procs:
            _end(proc)


# ---------------------------------------------------------------- the run
def _median_rate(n: int, seconds: list[float | None]) -> int | None:
    return round(n / statistics.median(seconds)) if seconds and None not in seconds else None


def run(kiosks: int, events: int, rounds: int, timeout: float) -> dict:
    size = event_size()
    paho_s: list[float] = []
    clients_s: list[float | None] = []
    ingests: list[tuple[float, dict[str, float]]] = []

    def raw_round() -> None:
        paho_s.append(paho_seconds(broker, events, size, timeout))
        clients_s.append(mosquitto_clients_seconds(broker, tmp, events, size, timeout))

    with tempfile.TemporaryDirectory(prefix="ceval-bench-") as name, contextlib.ExitStack() as cleanup:
        tmp = Path(name)
        broker = Mosquitto(tmp / "broker").start()
        cleanup.callback(broker.stop)
        with contextlib.ExitStack() as stage:  # the server and the kiosks, stopped in reverse order
            db = tmp / "server.sqlite3"
            server = start_server(tmp, broker, db)
            stage.callback(_end, server)
            wait_collector(broker, db)
            shares = [events // kiosks + (i < events % kiosks) for i in range(kiosks)]
            # The machine's speed drifts: raw rounds on both sides of each ingest round, each side's median taken.
            for _ in range(rounds):
                runtimes = [kiosk(tmp, broker, i) for i in range(kiosks)]  # their outboxes go on where they were
                with ThreadPoolExecutor(kiosks) as pool:
                    list(pool.map(fill, runtimes, shares))  # the kiosks' fsyncs overlap; list() re-raises
                raw_round()
                ingests.append(ingest_seconds(runtimes, broker, server.pid, timeout))
            stored = read_db(db, "SELECT count(*) FROM ratings")[0][0]
            if stored != events * rounds:
                raise BenchError(f"ingest: {events * rounds} events acknowledged but {stored} ratings stored")
        raw_round()
    ingest_s = [seconds for seconds, _ in ingests]
    raw_per_s, clients_per_s, ingest_per_s = _median_rate(events, paho_s), _median_rate(events, clients_s), \
        _median_rate(events, ingest_s)
    cores = {part: round(statistics.mean(used[part] for _, used in ingests), 2) for part in ingests[0][1]}
    return {"events": events, "kiosks": kiosks, "payload_bytes": size, "window": WINDOW,
            "raw_per_s": raw_per_s, "ingest_per_s": ingest_per_s, "ratio": round(ingest_per_s / raw_per_s, 3),
            "raw_rounds_per_s": [round(events / s) for s in paho_s],
            "ingest_rounds_per_s": [round(events / s) for s in ingest_s],
            "mosquitto_clients_per_s": clients_per_s,
            "ratio_to_mosquitto_clients": round(ingest_per_s / clients_per_s, 3) if clients_per_s else None,
            "ingest_s": round(statistics.median(ingest_s), 3), "ingest_cores": cores,
            "load_average": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=6, help="simulated kiosks (default 6)")
    parser.add_argument("--events", type=int, default=20000, help="events in all, and raw messages (default 20000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="ingest rounds, each between raw rounds; the medians taken (default 3)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each phase may take (default 60)")
    args = parser.parse_args(argv)
    if args.kiosks < 1 or args.events < args.kiosks or args.rounds < 1:
        parser.error("need at least one kiosk, one event per kiosk and one round")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        figures = run(args.kiosks, args.events, args.rounds, args.timeout)
    except BenchError as exc:
        log.error("%s", exc)
        return 1
    n, k = figures["events"], figures["kiosks"]
    print(f"raw, paho QoS 1 -> Mosquitto -> paho QoS 1:           {figures['raw_per_s']:6d}/s "
          f"(median of {figures['raw_rounds_per_s']})")
    if figures["mosquitto_clients_per_s"]:
        print(f"raw, mosquitto_pub -> Mosquitto -> mosquitto_sub:      {figures['mosquitto_clients_per_s']:6d}/s "
              f"(ingest is {figures['ratio_to_mosquitto_clients']:.2f} of it)")
    print(f"ingest, {k} kiosks -> Mosquitto -> collector -> SQLite: {figures['ingest_per_s']:6d}/s "
          f"(median of {figures['ingest_rounds_per_s']}; {n} events a round, every one stored and acknowledged)")
    print("cores used during the ingest (mean of its rounds): " + ", ".join(f"{part} {cores:.2f}"
                                                      for part, cores in figures["ingest_cores"].items()))
    print(f"ratio ingest/raw (paho): {figures['ratio']:.2f}, target >= 0.6")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
