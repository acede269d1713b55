"""`ceval demo`: a whole hall on one machine — broker, server and simulated kiosks."""
from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from ceval.common import stop_on_signals
from ceval.demo.broker import BrokerError, BrokerProcess, EmbeddedBroker, Mosquitto, find_mosquitto
from ceval.demo.history import Kiosk, backfill, first_day_ms
from server.domain import hours
from server.domain.zones import DEFAULT_ZONE
from server.store import Store
from server.store.db import open_db
from shared.contract import default_title
from shared.pins import hash_pin

log = logging.getLogger(__name__)

CLERKS = [("1024", "张敏"), ("1031", "王磊"), ("1046", "李娜"), ("1052", "刘洋"), ("1068", "陈静"),
          ("1075", "杨帆"), ("1089", "赵丽"), ("1093", "黄伟")]


def start_broker(workdir: Path, embedded: bool = False) -> BrokerProcess:
    """Mosquitto where installed or installable with apt-get, otherwise (or when asked) the embedded amqtt."""
    if embedded:
        return EmbeddedBroker(workdir).start()
    if not find_mosquitto() and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing mosquitto with apt-get ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "mosquitto"], check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if find_mosquitto():
        return Mosquitto(workdir).start()
    if importlib.util.find_spec("amqtt") is None:
        raise BrokerError("the demo needs a broker: apt-get install mosquitto, or pip install amqtt")
    print("Mosquitto is not available: using the embedded broker (amqtt), fine for a demo only", flush=True)
    return EmbeddedBroker(workdir).start()


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "ceval.main", *args]


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer at {url} within {timeout:.0f} s") from None
            time.sleep(0.2)


SITE = "hall"
# A hall's week, as the history's customers come (ceval/demo/history.py): weekdays 09:00-12:00 and
# 13:00-17:00, Saturday 09:00-17:00; minutes after midnight.
DEMO_HOURS = {**{day: [(9 * 60, 12 * 60), (13 * 60, 17 * 60)] for day in range(1, 6)}, 6: [(9 * 60, 17 * 60)]}
SERVICES = ["社保", "医保", "公积金", "不动产登记", "户籍", "税务", "工商登记", "综合受理"]
DEMO_PIN = "246810"


def _register_hall(db: Path, windows: list[str]) -> int:
    """What an IT person and a manager do on the registry pages: a public hall with opening hours,
    its clerks (PIN 246810), each window titled with its clerk, each kiosk confirmed at its window.
    The server then sends every kiosk its config. A new hall gets three months of history (demo_history.py),
    its kiosks assigned to their windows since before it; returns how many past events were stored."""
    now = int(time.time() * 1000)
    store = Store(open_db(db))
    try:
        new = store.registry.site(SITE) is None
        if new:
            store.registry.create_site(SITE, "市民服务中心", DEFAULT_ZONE,
                              hours.dumps(DEMO_HOURS), True)
        since = first_day_ms(now) if new else now
        kiosks = []
        for i, window in enumerate(windows):
            staff_id, name = CLERKS[i % len(CLERKS)]
            if store.registry.clerk(staff_id) is None:
                store.registry.create_clerk(staff_id, name, SITE, hash_pin(DEMO_PIN))
            title = f"{default_title(window)} · {SERVICES[i % len(SERVICES)]}"
            fresh = store.reports.window(window) is None
            if fresh:
                store.registry.create_window(window, title, SITE)
            store.registry.update_window(window, title, SITE, staff_id)
            store.registry.assign_device(f"k-{window}", window, since if fresh else now)
            if fresh and new:
                kiosks.append(Kiosk(window, f"k-{window}", staff_id, quality=QUALITY[i % len(QUALITY)]))
        return backfill(store, kiosks, now) if kiosks else 0
    finally:
        store.db.close()


QUALITY = (0.9, 0.6, 0.75, 0.3, 0.85, 0.55, 0.7, 0.45)  # each window's share of happy customers differs


DEMO_USER = "demo"


def _demo_account(db: Path) -> str:
    """An admin account for the demo's dashboard; its password is kept beside the database."""
    saved = db.with_name("demo-password.txt")
    if saved.is_file():
        return saved.read_text().strip()
    password = secrets.token_urlsafe(9)
    subprocess.run(_python("user", "add", DEMO_USER, "--role", "admin", "--db", str(db)), input=password + "\n",
                   check=True, capture_output=True, text=True)
    _keep(saved, password)
    return password


def _demo_token(db: Path) -> str:
    """One API token for the demo, kept beside the database across restarts (a new one if it was revoked)."""
    saved = db.with_name("demo-token.txt")
    store = Store(open_db(db))
    try:
        if saved.is_file() and store.accounts.token_name(saved.read_text().strip()):
            return saved.read_text().strip()
        token = store.accounts.create_token("demo", int(time.time() * 1000))
    finally:
        store.db.close()
    _keep(saved, token)
    return token


def _keep(path: Path, secret: str) -> None:
    path.write_text(secret + "\n")
    path.chmod(0o600)


def public_url(host: str, port: int) -> tuple[str, str | None]:
    """The address phones reach the demo at, and a note when they cannot: a wildcard address becomes this
    machine's address on its network (the interface of its default route); loopback is this machine only."""
    if host in ("0.0.0.0", "::", ""):
        lan = _lan_address()
        if lan is None:
            return f"http://127.0.0.1:{port}/", "no network address found: phones cannot reach the QR codes' link"
        return f"http://{lan}:{port}/", None
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return (f"http://{host}:{port}/", f"listening on {host} only: other machines and phones cannot reach "
                "it; use --listen 0.0.0.0:{port} for that".replace("{port}", str(port)))
    return f"http://{host}:{port}/", None


def _lan_address() -> str | None:
    """The source address of this machine's default route (no packet is sent: UDP connect only picks it)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere, but chooses the interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _port_taken(host: str, port: int) -> str | None:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def run_demo(args) -> int:
    host, port = args.listen
    taken = _port_taken(host, port)
    if taken:
        print(f"ceval demo: cannot listen on {host}:{port}: {taken}: stop what uses it (another demo?), or give "
              "another --listen HOST:PORT", file=sys.stderr)
        return 2
    base = Path(args.dir).resolve()
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"ceval demo: cannot make the folder {base}: {exc.strerror}: give another --dir", file=sys.stderr)
        return 2
    db = base / "ceval.sqlite3"
    url, reach = (args.public_url + "/", None) if args.public_url else public_url(host, port)
    windows = [f"w{n:02d}" for n in range(1, args.kiosks + 1)]
    print("setting up the hall (the first time with three months of history) ...", flush=True)
    started = time.monotonic()
    history = _register_hall(db, windows)
    if history:
        print(f"  {history} past events stored in {time.monotonic() - started:.1f} s", flush=True)
    password = _demo_account(db)
    token = _demo_token(db)
    broker = start_broker(base / "broker", args.embedded_broker)
    logs = base / "logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []

    def spawn(name: str, *argv: str, env: dict | None = None) -> None:
        with open(logs / f"{name}.log", "ab") as out:  # the child keeps its own copy
            procs.append(subprocess.Popen(_python(*argv), stdout=out, stderr=subprocess.STDOUT,
                                          env={**os.environ, **(env or {})}))

    try:
        # the collector gets a user name: the embedded broker queues for offline clients only when they have one
        collector_user = {"CEVAL_MQTT_USERNAME": os.environ.get("CEVAL_MQTT_USERNAME", "ceval-collector")}
        local = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else '[::1]' if host == '::' else host}:{port}/"
        spawn("server", "server", "--db", str(db), "--broker", broker.url, "--listen", f"{host}:{port}",
              "--public-url", url.rstrip("/"), env=collector_user)
        _wait_http(local)
        for window in windows:
            kiosk_dir = base / "kiosks" / window
            kiosk_dir.mkdir(parents=True, exist_ok=True)
            conf = kiosk_dir / "kiosk.toml"
            conf.write_text(f'device = "k-{window}"\nwindow = "{window}"\nbroker = "{broker.url}"\n'
                            f'data_dir = "."\nthanks_seconds = {3 / args.pace}\nmin_interval = {5 / args.pace}\n',
                            encoding="utf-8")
            spawn(f"kiosk-{window}", "kiosk", "--config", str(conf), "--headless", "--simulate",
                  "--pace", str(args.pace))
        clerks = ", ".join(f"{staff} {name}" for staff, name in CLERKS[:len(windows)])
        print(f"\ncounter-eval demo is running: {len(windows)} simulated kiosks, broker {broker.url}\n"
              f"  dashboard: {url}  (log in as {DEMO_USER} / {password})\n"
              + (f"  note:      {reach}\n" if reach else "")
              + f"  lobby:     {url}public/{SITE}  (the public board, no log-in)\n"
              f"  phones:    the kiosks' QR codes open {url}c/... (comment form)\n"
              f"  clerks:    sign in at a kiosk (hold the clerk's name 2 s) with staff number and PIN {DEMO_PIN}: "
              f"{clerks}\n"
              f"  API:       curl -H 'Authorization: Bearer {token}' {url}api/v1/windows\n"
              f"  data:      {base} (database, broker, kiosks, logs; kept for the next run, delete it to start "
              "afresh)\n"
              "Press Ctrl-C to stop.\n", flush=True)
        stop = threading.Event()
        stop_on_signals(stop)
        while not stop.wait(1.0):
            for proc in procs:
                if proc.poll() is not None:
                    print(f"a demo process exited ({' '.join(proc.args[3:5])}); see {logs}", file=sys.stderr)
                    return 1
        return 0
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
