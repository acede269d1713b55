"""A city on one server: 5,000 kiosks against the shipped Mosquitto and `ceval server`, phase by phase.

The city: S sites (default 50) of W windows each (default 100), a clerk per window, every kiosk registered,
confirmed and assigned (bench/city.py), with a broker account of its own, assigned two days before the run
so that a day's queued events still fall in its assignment. The broker
runs deploy/mosquitto/*.conf as shipped (accounts, ACL, persistence), its paths moved into a folder of its
own; `ceval server --strict` runs as in production, with the collector's broker account.

The kiosks are bench/fleet_kiosks.py: P processes (default 2) of asyncio connections, each kiosk with its
own connection, stream, signing key, outbox and the real kiosk's delivery rules. Their CPU time is measured
and reported (`simulator`), so what the 2 cores gave the server and the broker can be told apart.

Phases, each in the JSON line:

- connect: every kiosk connects, subscribes and gets its retained config; `online_s`: until the server's
  Devices list (the devices table the page reads) shows all of them online;
- steady: presses at random kiosks, 1 per kiosk per minute compressed into a second (kiosks/60 per second)
  and 10 times that, each for --seconds: press -> stored -> acknowledged p50/p99 at the kiosks; meanwhile
  a site manager's board (/board.json: that site's windows) and the city summary (the API's compare of every
  window, today) are requested in turn: their p99;
- broker_restart: Mosquitto stopped and started again (its persistence kept) while presses go on at the city
  rate: until every kiosk is online again and every event acknowledged;
- offline_day: the hall network gone, the server stopped, --queued events per kiosk (default 100) pressed
  over the past day; then the server and the network back: until every outbox is empty: drain seconds and
  events per second, with 1 collector and again with --collectors 2;
- throughout: events pressed = rows stored, stored twice 0, lost 0 (and every stream's acknowledged seq is
  the kiosk's last); the peak RSS of the server (with its collector members) and of the broker.

    python -m bench.fleet [--sites 50] [--windows-per-site 100] [--seconds 30] [--queued 100]
                          [--processes 2]

Targets: nothing lost or stored twice in any phase, steady p99 < 1 s at 10x city load, drain >= 2,000
events/s, board p99 < 100 ms while ingesting. Human-readable lines first; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.city import register_city
from bench.ingest import read_db
from ceval.demo.broker import ShippedLayout, free_port, port_open
from server.domain.passwords import hash_password
from server.ops.provision import BrokerAccounts, new_password, service_accounts
from server.store import Store
from server.store.db import open_db
from shared.timefmt import to_ms

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
TARGET_STEADY_P99_MS = 1000.0
TARGET_DRAIN_PER_S = 2000.0
TARGET_BOARD_P99_MS = 100.0
MANAGER, MANAGER_PASSWORD = "site-manager", "bench-manager-password"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


# ---------------------------------------------------------------- the city
def manager_and_token(db: Path) -> str:
    """A manager of the site s01 (the board timed) and an API token (the city summary); returns the token."""
    store = Store(open_db(db))
    try:
        now = to_ms(datetime.now().astimezone())
        store.accounts.create_user(MANAGER, hash_password(MANAGER_PASSWORD), "manager", ["s01"], now)
        return store.accounts.create_token("fleet-bench", now)
    finally:
        store.db.close()


# ---------------------------------------------------------------- processes
def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def family(pid: int) -> list[int]:
    """`pid` and its children (the server's collector members)."""
    out = [pid]
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == str(pid):
                    out.append(int(entry))
        except (OSError, IndexError):
            continue
    return out


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Peaks:
    """The peak RSS of the server (with its children) and the broker, sampled every half second."""

    def __init__(self):
        self.server = self.broker = 0.0
        self.server_pid = self.broker_pid = None
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop.wait(0.5):
            if self.server_pid:
                self.server = max(self.server, sum(rss_mib(p) for p in family(self.server_pid)))
            if self.broker_pid:
                self.broker = max(self.broker, rss_mib(self.broker_pid))

    def stop(self):
        self._stop.set()


class Server:
    """`ceval server --strict` with the collector's broker account, as a process of its own."""

    def __init__(self, base: Path, db: Path, broker_url: str, env: dict[str, str]):
        self.base, self.db, self.broker_url, self.env = base, db, broker_url, env
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, collectors: int = 1) -> Server:
        log_file = open(self.base / "server.log", "ab")  # noqa: SIM115 - the server keeps writing to it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ceval.main", "server", "--db", str(self.db), "--broker", self.broker_url,
             "--listen", f"127.0.0.1:{self.port}", "--strict", "--collectors", str(collectors)],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: " + (self.base / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Kiosks:
    """The simulated kiosks: P processes of bench/fleet_kiosks.py, each with its share of the city."""

    def __init__(self, city: list[tuple[str, str, str]], port: int, password: str, processes: int):
        self.procs = []
        for i in range(processes):
            share = [(device, window) for _, window, device in city[i::processes]]
            proc = subprocess.Popen([sys.executable, "-m", "bench.fleet_kiosks"], cwd=ROOT, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
            proc.stdin.write(json.dumps({"host": "127.0.0.1", "port": port, "kiosks": share,
                                         "password": password}) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)
        for proc in self.procs:
            assert "ready" in json.loads(proc.stdout.readline())

    def all(self, cmd: dict, **split) -> list[dict]:
        """Send `cmd` to every process at once (a `rate` is split between them) and collect their answers."""
        for proc in self.procs:
            part = {**cmd, **{k: v / len(self.procs) for k, v in split.items()}}
            proc.stdin.write(json.dumps(part) + "\n")
            proc.stdin.flush()
        return [json.loads(proc.stdout.readline()) for proc in self.procs]

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stdin.close()
            proc.terminate()
            proc.wait(10)


class Web:
    """A site manager logged in (the board of the site s01) and an API token (the city summary)."""

    def __init__(self, server: Server, token: str):
        self.server, self.token = server, token
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def log_in(self) -> None:
        page = self.opener.open(self.server.url + "/login", timeout=30).read().decode()
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": MANAGER, "password": MANAGER_PASSWORD, "csrf_token": csrf})
        self.opener.open(self.server.url + "/login", data=form.encode(), timeout=30).read()

    def board_ms(self) -> float:
        start = time.perf_counter()
        body = json.loads(self.opener.open(self.server.url + "/board.json", timeout=30).read())
        assert len(body["windows"]) > 0
        return (time.perf_counter() - start) * 1000

    def city_ms(self) -> float:
        today = date.today().isoformat()
        request = urllib.request.Request(f"{self.server.url}/api/v1/compare?from={today}&to={today}",
                                         headers={"Authorization": f"Bearer {self.token}"})
        start = time.perf_counter()
        body = json.loads(urllib.request.urlopen(request, timeout=60).read())
        assert body["rows"]
        return (time.perf_counter() - start) * 1000


class Poller:
    """While a phase runs: the site's board twice a second and the city summary every two seconds."""

    def __init__(self, web: Web):
        self.web, self.board, self.city = web, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        n = 0
        while not self._stop.wait(0.5):
            self.board.append(self.web.board_ms())
            n += 1
            if n % 4 == 0:
                self.city.append(self.web.city_ms())

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(120)
        return {"board_p50_ms": percentile(self.board, 50), "board_p99_ms": percentile(self.board, 99),
                "city_p50_ms": percentile(self.city, 50), "city_p99_ms": percentile(self.city, 99),
                "board_requests": len(self.board), "city_requests": len(self.city)}


# ---------------------------------------------------------------- phases
def wait_until(condition, timeout: float, what: str, interval: float = 0.2) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


def latencies(kiosks: Kiosks) -> tuple[list[float], dict]:
    stats = kiosks.all({"cmd": "stats"})
    values = [v for s in stats for v in s["latencies_ms"]]
    return values, {"sent": sum(s["sent"] for s in stats), "resent": sum(s["resent"] for s in stats)}


def settle(kiosks: Kiosks, timeout: float) -> float:
    answers = kiosks.all({"cmd": "settled", "timeout": timeout})
    if any(a["settled"] is None for a in answers):
        raise RuntimeError(f"not settled within {timeout:.0f} s: {answers}")
    return max(a["settled"] for a in answers)


def run(args) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the broker and the kiosks
    base = Path(tempfile.mkdtemp(prefix="ceval-fleet-", dir="/var/tmp"))
    layout = ShippedLayout(base, free_port()).write()
    db = base / "ceval.sqlite3"
    n = args.sites * args.windows_per_site
    result: dict = {"bench": "fleet", "kiosks": n, "sites": args.sites, "processes": args.processes,
                    "fd_limit": hard}
    started = time.monotonic()
    city = register_city(db, args.sites, args.windows_per_site, datetime.now().astimezone() - timedelta(days=2))
    token = manager_and_token(db)
    password = new_password()
    accounts = BrokerAccounts(layout.broker_dir)
    accounts.set_password(city[0][2], password, *[device for _, _, device in city[1:]])
    collector_password = new_password()
    collector, *members = service_accounts("collector")
    accounts.set_password(collector, collector_password, *members)
    env = {"CEVAL_MQTT_USERNAME": collector, "CEVAL_MQTT_PASSWORD": collector_password}
    result["setup_s"] = round(time.monotonic() - started, 1)
    print(f"city: {args.sites} sites, {n} windows, clerks and kiosks registered in {result['setup_s']} s",
          flush=True)

    broker = layout.broker().start()
    server = Server(base, db, f"mqtt://127.0.0.1:{layout.port}", env).start()
    peaks = Peaks()
    peaks.broker_pid, peaks.server_pid = broker.process.pid, server.process.pid
    kiosks = Kiosks(city, layout.port, password, args.processes)
    web = Web(server, token)
    web.log_in()
    pressed = 0
    try:
        # connect storm
        start = time.monotonic()
        answers = kiosks.all({"cmd": "connect", "timeout": 600})
        wait_until(lambda: read_db(db, "SELECT count(*) FROM devices WHERE online = 1")[0][0] == n, 600,
                   "every kiosk online on the Devices page")
        result["connect"] = {"kiosks_online_s": round(max(a["online"] for a in answers), 2),
                             "configured_s": round(max(a["configured"] for a in answers), 2),
                             "devices_page_online_s": round(time.monotonic() - start, 2)}
        print(f"connect storm: {result['connect']}", flush=True)

        # steady city load, then ten times that
        result["steady"] = {}
        cpu_before = kiosks.cpu()
        for label, rate in (("city", n / 60), ("city_x10", n / 6)):
            poller = Poller(web)
            got = kiosks.all({"cmd": "press", "seconds": args.seconds}, rate=rate)
            pressed += sum(a["pressed"] for a in got)
            settle(kiosks, 120)
            web_figures = poller.stop()
            values, counts = latencies(kiosks)
            result["steady"][label] = {"rate_per_s": round(rate, 1), "events": sum(a["pressed"] for a in got),
                                       "p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99),
                                       **counts, **web_figures}
            print(f"steady {label}: {result['steady'][label]}", flush=True)
        steady_events = sum(v["events"] for v in result["steady"].values())
        sim_cpu = kiosks.cpu() - cpu_before

        # broker restart under the city's load: stopped (persistence saved) and started again mid-stream
        presses: list = []
        pressing = threading.Thread(target=lambda: presses.append(
            kiosks.all({"cmd": "press", "seconds": 6}, rate=n / 60)))
        pressing.start()
        time.sleep(3)
        down = time.monotonic()
        broker.stop()
        broker = layout.broker().start()
        up = time.monotonic()
        peaks.broker_pid = broker.process.pid
        pressing.join()
        pressed += sum(a["pressed"] for a in presses[0])
        settle(kiosks, 600)
        values, counts = latencies(kiosks)
        result["broker_restart"] = {"restart_s": round(up - down, 2),
                                    "back_and_acked_s": round(time.monotonic() - up, 2),
                                    "p99_ms": percentile(values, 99), **counts}
        print(f"broker restart: {result['broker_restart']}", flush=True)

        # a day offline, drained with 1 and then 2 collectors
        result["offline_day"] = {}
        for collectors in (1, 2):
            kiosks.all({"cmd": "offline"})
            server.stop()
            got = kiosks.all({"cmd": "queue", "per_kiosk": args.queued, "span": 86400 * 0.9})
            queued = sum(a["queued"] for a in got)
            pressed += queued
            server.start(collectors)
            peaks.server_pid = server.process.pid
            before = read_db(db, "SELECT count(*) FROM events")[0][0]
            kiosks.all({"cmd": "online"})
            drained = settle(kiosks, 3600)
            stored = read_db(db, "SELECT count(*) FROM events")[0][0] - before
            values, counts = latencies(kiosks)
            result["offline_day"][f"collectors_{collectors}"] = {
                "queued": queued, "stored": stored, "drain_s": round(drained, 1),
                "events_per_s": round(queued / drained), "p99_ms": percentile(values, 99), **counts}
            print(f"offline day, {collectors} collector(s): {result['offline_day'][f'collectors_{collectors}']}",
                  flush=True)

        # nothing lost, nothing stored twice
        last_seqs = {}
        for stats in kiosks.all({"cmd": "stats"}):
            last_seqs.update(stats["last_seq"])
        rows = read_db(db, "SELECT count(*), count(DISTINCT id), count(DISTINCT stream || '/' || seq) FROM events")[0]
        streams = dict(read_db(db, "SELECT stream, upto_seq FROM streams"))
        result["pressed"] = pressed
        result["stored"] = rows[0]
        result["duplicates"] = rows[0] - min(rows[1], rows[2])
        result["lost"] = pressed - rows[1]
        result["streams_behind"] = sum(1 for s, seq in last_seqs.items() if streams.get(s) != seq)
        result["rejects"] = read_db(db, "SELECT count(*) FROM rejects")[0][0]
        result["server_rss_peak_mib"] = round(peaks.server)
        result["broker_rss_peak_mib"] = round(peaks.broker)
        result["simulator"] = {"cpu_s_steady": round(sim_cpu, 1),
                               "us_per_event_steady": round(sim_cpu / max(1, steady_events) * 1e6),
                               "cpu_s_total": round(kiosks.cpu(), 1)}
        result["db_bytes"] = db.stat().st_size
    finally:
        peaks.stop()
        kiosks.stop()
        server.stop()
        broker.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}", flush=True)
    ten = result["steady"]["city_x10"]
    drains = [v["events_per_s"] for v in result["offline_day"].values()]
    result["targets_met"] = bool(
        result["lost"] == 0 and result["duplicates"] == 0 and result["streams_behind"] == 0
        and ten["p99_ms"] is not None and ten["p99_ms"] < TARGET_STEADY_P99_MS
        and min(drains) >= TARGET_DRAIN_PER_S
        and all(v["board_p99_ms"] is not None and v["board_p99_ms"] < TARGET_BOARD_P99_MS
                for v in result["steady"].values()))
    result["seconds"] = round(time.monotonic() - started)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--windows-per-site", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each steady phase")
    parser.add_argument("--queued", type=int, default=100, help="events per kiosk queued during the day offline")
    parser.add_argument("--processes", type=int, default=2, help="processes of simulated kiosks")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (database, logs)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
