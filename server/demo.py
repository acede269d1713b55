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

from shared.contract import default_title
from shared.pins import hash_pin

from .broker import BrokerError, BrokerProcess, EmbeddedBroker, Mosquitto, find_mosquitto
from . import hours
from .cli import _stop_on_signals
from .db import open_db
from .store import Store

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
    return [sys.executable, "-m", "server.cli", *args]


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
SERVICES = ["社保", "医保", "公积金", "不动产登记", "户籍", "税务", "工商登记", "综合受理"]
DEMO_PIN = "246810"


def _register_hall(db: Path, windows: list[str]) -> None:
    """What an IT person and a manager do on the registry pages: a public hall with opening hours,
    its clerks (PIN 246810), each window titled with its clerk, each kiosk confirmed at its window.
    The server then sends every kiosk its config."""
    store = Store(open_db(db))
    try:
        if store.site(SITE) is None:
            store.create_site(SITE, "市民服务中心", "Asia/Shanghai",
                              hours.dumps({day: [(0, 24 * 60)] for day in range(1, 8)}), True)  # open round the clock, so the demo shows staffed time whenever it runs
        for i, window in enumerate(windows):
            staff_id, name = CLERKS[i % len(CLERKS)]
            if store.clerk(staff_id) is None:
                store.create_clerk(staff_id, name, SITE, hash_pin(DEMO_PIN))
            title = f"{default_title(window)} · {SERVICES[i % len(SERVICES)]}"
            if store.window(window) is None:
                store.create_window(window, title, SITE)
            store.update_window(window, title, SITE, staff_id)
            store.assign_device(f"k-{window}", window, int(time.time() * 1000))
    finally:
        store.db.close()


DEMO_USER = "demo"


def _demo_account(db: Path) -> str:
    """An admin account for the demo's dashboard; its password is kept beside the database."""
    saved = db.with_name("demo-password.txt")
    if saved.is_file():
        return saved.read_text().strip()
    password = secrets.token_urlsafe(9)
    subprocess.run(_python("user", "add", DEMO_USER, "--role", "admin", "--db", str(db)), input=password + "\n",
                   check=True, capture_output=True, text=True)
    saved.write_text(password + "\n")
    saved.chmod(0o600)
    return password


def run_demo(args) -> int:
    base = Path(args.dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    broker = start_broker(base / "broker", args.embedded_broker)
    db = base / "ceval.sqlite3"
    host, port = args.listen
    logs = base / "logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []

    def spawn(name: str, *argv: str, env: dict | None = None) -> None:
        out = open(logs / f"{name}.log", "ab")
        procs.append(subprocess.Popen(_python(*argv), stdout=out, stderr=subprocess.STDOUT,
                                      env={**os.environ, **(env or {})}))

    try:
        # the collector gets a user name: the embedded broker queues for offline clients only when they have one
        collector_user = {"CEVAL_MQTT_USERNAME": os.environ.get("CEVAL_MQTT_USERNAME", "ceval-collector")}
        url = f"http://{host}:{port}/"
        spawn("server", "server", "--db", str(db), "--broker", broker.url, "--listen", f"{host}:{port}",
              "--public-url", url, env=collector_user)
        _wait_http(url)
        token = subprocess.run(_python("token", "create", "demo", "--db", str(db)), check=True,
                               capture_output=True, text=True).stdout.strip()
        password = _demo_account(db)
        windows = [f"w{n:02d}" for n in range(1, args.kiosks + 1)]
        _register_hall(db, windows)
        for window in windows:
            kiosk_dir = base / "kiosks" / window
            kiosk_dir.mkdir(parents=True, exist_ok=True)
            conf = kiosk_dir / "kiosk.toml"
            conf.write_text(f'device = "k-{window}"\nwindow = "{window}"\nbroker = "{broker.url}"\n'
                            f'data_dir = "."\nthanks_seconds = {3 / args.pace}\nmin_interval = {5 / args.pace}\n',
                            encoding="utf-8")
            spawn(f"kiosk-{window}", "kiosk", "--config", str(conf), "--headless", "--simulate",
                  "--pace", str(args.pace))
        print(f"\ncounter-eval demo is running: {len(windows)} simulated kiosks, broker {broker.url}\n"
              f"  dashboard: {url}  (log in as {DEMO_USER} / {password})\n"
              f"  lobby:     {url}public/{SITE}  (the public board, no log-in)\n"
              f"  API:       curl -H 'Authorization: Bearer {token}' {url}api/v1/windows\n"
              f"  data and logs in {base}\nPress Ctrl-C to stop.\n", flush=True)
        stop = threading.Event()
        _stop_on_signals(stop)
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
