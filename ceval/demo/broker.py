"""A Mosquitto of our own on a loopback port, for the demo, the tests and the benchmarks.

Production brokers are configured from `deploy/`; this one is for a single
machine: anonymous access on 127.0.0.1 only, persistence in its own folder.
Tests of the production configuration run it instead (`config_file`).
"""
from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path

log = logging.getLogger(__name__)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


class BrokerError(RuntimeError):
    pass


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class BrokerProcess(ABC):
    """A broker in a process of its own on a loopback port: start, SIGKILL, stop."""

    name = "broker"

    def __init__(self, workdir: str | Path, port: int | None = None, host: str = "127.0.0.1"):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that runs this broker on self.host:self.port."""

    def start(self, timeout: float = 10.0) -> BrokerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self.process.poll() is not None:
                raise BrokerError(f"{self.name} exited: {self.process.stderr.read().decode(errors='replace')}")
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerError(f"{self.name} did not listen on {self.port} within {timeout} s")
            time.sleep(0.05)
        log.info("%s listening on %s", self.name, self.url)
        return self

    def kill(self) -> None:
        """SIGKILL, as a power cut or a crash would."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Mosquitto(BrokerProcess):
    name = "mosquitto"

    def __init__(self, workdir: str | Path, port: int | None = None, host: str = "127.0.0.1",
                 binary: str | None = None, config_file: str | Path | None = None):
        """`config_file`: run that configuration as it is (a production one, with accounts and an ACL)
        instead of the open one below; it must listen on host:port."""
        super().__init__(workdir, port, host)
        self.binary = binary or find_mosquitto()
        self.config_file = Path(config_file) if config_file else None
        if not self.binary:
            raise BrokerError("mosquitto is not installed (Debian: apt-get install mosquitto)")

    def reload(self) -> None:
        """SIGHUP, as `systemctl reload mosquitto` sends: it reads its password file and ACL again."""
        if not self.process or self.process.poll() is not None:
            raise BrokerError("mosquitto is not running")
        self.process.send_signal(signal.SIGHUP)

    def command(self) -> list[str]:
        if self.config_file:
            return [self.binary, "-c", str(self.config_file)]
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {data}/",
            "max_queued_messages 1000000",
            "max_inflight_messages 0",
            f"log_dest file {self.workdir / 'mosquitto.log'}",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # a private broker: keep root's access to its own folder
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return [self.binary, "-c", str(conf)]


class EmbeddedBroker(BrokerProcess):
    """amqtt (see ceval/demo/embedded_broker.py): the demo's fallback, never a hall's broker."""

    name = "embedded broker (amqtt)"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "ceval.demo.embedded_broker", str(self.port)]


class ShippedLayout:
    """deploy/mosquitto/mosquitto.conf and ceval.conf as shipped, with only their paths and port moved into
    `base`; the accounts go in `broker_dir` (`ceval broker account` / `ceval device add --broker-dir`). Started
    as root, Mosquitto drops to the `mosquitto` user as in production, so `base` is a folder that user can
    read (not under a 0700 temporary folder)."""

    def __init__(self, base: Path, port: int):
        self.base, self.port = Path(base), port
        self.broker_dir = self.base / "etc" / "ceval"
        self.config_file = self.base / "etc" / "mosquitto.conf"

    def write(self) -> ShippedLayout:
        base = self.base
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)
        for sub in ("etc/ceval", "etc/conf.d", "lib", "log", "run"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # as on a server: the broker's folders are its own, the accounts root:mosquitto
            uid, gid = pwd.getpwnam("mosquitto").pw_uid, grp.getgrnam("mosquitto").gr_gid
            for sub in ("lib", "log", "run"):
                os.chown(base / sub, uid, gid)
            os.chown(self.broker_dir, 0, gid)
            self.broker_dir.chmod(0o750)
        self.config_file.write_text(_moved((DEPLOY / "mosquitto.conf").read_text(), {
            "/run/mosquitto/": f"{base}/run/", "/var/lib/mosquitto/": f"{base}/lib/",
            "/var/log/mosquitto/": f"{base}/log/", "/etc/mosquitto/conf.d": f"{base}/etc/conf.d"}))
        (base / "etc" / "conf.d" / "ceval.conf").write_text(_moved((DEPLOY / "ceval.conf").read_text(), {
            "/etc/mosquitto/ceval/": f"{self.broker_dir}/",
            "\nlistener 1883\n": f"\nlistener {self.port} 127.0.0.1\n"}))
        return self

    def broker(self) -> Mosquitto:
        return Mosquitto(self.base / "work", self.port, config_file=self.config_file)


def _moved(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        if old not in text:
            raise BrokerError(f"the shipped broker config no longer has {old!r}")
        text = text.replace(old, new)
    return text
