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

from shared.contract import Config, default_title
from shared.topics import topic

from .broker import BrokerError, BrokerProcess, EmbeddedBroker, Mosquitto, find_mosquitto
from .cli import _stop_on_signals

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


def _publish_configs(broker: BrokerProcess, windows: list[str]) -> None:
    """What the server's registry will publish (step 5); here the demo names the clerks itself."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ceval-demo-setup", protocol=mqtt.MQTTv311)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for i, window in enumerate(windows):
            staff_id, name = CLERKS[i % len(CLERKS)]
            config = Config(title=default_title(window), staff={"id": staff_id, "name": name})
            client.publish(topic(f"k-{window}", "config"), config.to_json(), qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


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
        spawn("server", "server", "--db", str(db), "--broker", broker.url, "--listen", f"{host}:{port}",
              env=collector_user)
        url = f"http://{host}:{port}/"
        _wait_http(url)
        token = subprocess.run(_python("token", "create", "demo", "--db", str(db)), check=True,
                               capture_output=True, text=True).stdout.strip()
        password = _demo_account(db)
        windows = [f"w{n:02d}" for n in range(1, args.kiosks + 1)]
        _publish_configs(broker, windows)
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
