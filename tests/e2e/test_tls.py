"""The optional TLS listener on a real Mosquitto, with certificates made by deploy/tls/make-certs.sh.

The broker runs deploy/mosquitto/ceval.d/tls.conf.example as shipped (only its paths and port
changed) next to an ACL of `pattern` lines: a kiosk's certificate CN is its user name. A client
with a device certificate gets in; one without a certificate is refused at the TLS handshake; a
client that trusts another CA refuses the broker; a revoked certificate is refused once the broker
restarts with the new revocation list. A kiosk delivers a rating over mqtts:// to a real
`ceval server` whose collector shows a certificate of its own.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from ceval.demo.broker import BrokerProcess, find_mosquitto
from device.runtime import KioskRuntime
from shared.broker_url import TlsFiles
from shared.topics import topic

from ..helpers import ROOT, ServerProcess, kiosk_settings, query, rate, wait_for

SCRIPT = ROOT / "deploy" / "tls" / "make-certs.sh"
EXAMPLE = ROOT / "deploy" / "mosquitto" / "ceval.d" / "tls.conf.example"
COLLECTOR = "ceval-collector"
ACL = f"""user {COLLECTOR}
topic readwrite ceval/#

pattern write ceval/v1/%u/event
pattern write ceval/v1/%u/status
pattern read ceval/v1/%u/ack
pattern read ceval/v1/%u/config
pattern read ceval/v1/%u/invite
"""


def make_certs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


@dataclass
class Pki:
    dir: Path
    other_ca: Path  # a CA that signed nothing of this broker's

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    def device(self, name: str) -> tuple[Path, Path]:
        return self.dir / "devices" / f"{name}.crt", self.dir / "devices" / f"{name}.key"

    def files(self, name: str) -> TlsFiles:
        cert, key = self.device(name)
        return TlsFiles(str(self.ca), str(cert), str(key))


class TlsMosquitto(BrokerProcess):
    """Mosquitto with no anonymous access, the ACL above and the shipped TLS listener as its only listener."""

    name = "mosquitto (TLS)"

    def __init__(self, workdir: Path, certs: Path):
        super().__init__(workdir)
        self.certs = certs
        self.log = workdir / "log" / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtts://localhost:{self.port}"

    def command(self) -> list[str]:
        conf_d = self.workdir / "ceval.d"
        conf_d.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(exist_ok=True)
        if os.geteuid() == 0:  # started as root it drops to `mosquitto`, as a hall's broker does
            user = pwd.getpwnam("mosquitto")
            os.chown(self.log.parent, user.pw_uid, user.pw_gid)
        listener = EXAMPLE.read_text(encoding="utf-8")
        assert "\nlistener 8883\n" in listener and "/etc/mosquitto/certs/" in listener
        listener = listener.replace("\nlistener 8883\n", f"\nlistener {self.port} {self.host}\n")
        (conf_d / "tls.conf").write_text(listener.replace("/etc/mosquitto/certs/", f"{self.certs}/"))
        (self.workdir / "acl").write_text(ACL)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join([
            "per_listener_settings false", "allow_anonymous false", f"acl_file {self.workdir / 'acl'}",
            "persistence false", f"log_dest file {self.log}", "log_type error", "log_type warning",
            "log_type notice", "log_type information", f"include_dir {conf_d}", ""]))
        return [find_mosquitto(), "-c", str(conf)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="module")
def pki():
    # not under pytest's tmp folder: that one is private to root, and the broker reads as `mosquitto`
    base = Path(tempfile.mkdtemp(prefix="ceval-tls-"))
    os.chmod(base, 0o755)
    certs = base / "certs"
    for args in (("ca", certs), ("server", certs, "localhost", "127.0.0.1"), ("device", certs, "k-a"),
                 ("device", certs, "k-b"), ("device", certs, COLLECTOR), ("ca", base / "other")):
        result = make_certs(*map(str, args))
        assert result.returncode == 0, result.stderr
    if os.geteuid() == 0:  # what docs/operations.md tells the installer: the key readable by group mosquitto
        os.chown(certs / "server.key", 0, pwd.getpwnam("mosquitto").pw_gid)
        os.chmod(certs / "server.key", 0o640)
    yield Pki(certs, base / "other" / "ca.crt")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_broker(pki):
    broker = TlsMosquitto(pki.dir.parent / "broker", pki.dir).start()
    yield broker
    broker.stop()


# ------------------------------------------------------------------ a thin MQTT 5 client
@dataclass
class Attempt:
    connected: bool = False
    error: str = ""
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    acks: dict[int, mqtt.ReasonCode] = field(default_factory=dict)


class Client:
    """A paho MQTT 5 client whose network loop runs on its own thread; it records what happens."""

    def __init__(self, name: str, ca: Path, cert: Path | None = None, key: Path | None = None):
        self.state = Attempt()
        self.ended = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv5)
        self.client.tls_set(ca_certs=str(ca), certfile=cert and str(cert), keyfile=key and str(key))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.ended.set()
        self.client.on_message = lambda c, u, m: self.state.messages.append((m.topic, m.payload))
        self.client.on_publish = lambda c, u, mid, reason, p: self.state.acks.__setitem__(mid, reason)
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self.state.acks.__setitem__(mid, reasons[0])

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.state.connected = not reason_code.is_failure
        self.state.error = "" if self.state.connected else str(reason_code)
        self.ended.set()

    def connect(self, port: int, host: str = "localhost") -> Attempt:
        """Connect and wait for the CONNACK or the end of the connection."""
        try:
            self.client.connect(host, port, keepalive=10)
        except (ssl.SSLError, OSError) as exc:
            self.state.error = f"{type(exc).__name__}: {exc}"
            return self.state
        self.client.loop_start()
        wait_for(self.ended.is_set, 10, "the broker's answer")
        if not self.state.connected and not self.state.error:
            self.state.error = "connection closed before CONNACK"
        return self.state

    def subscribe(self, pattern: str) -> None:
        result, mid = self.client.subscribe(pattern, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        granted = wait_for(lambda: self.state.acks.get(mid), 10, f"the SUBACK of {pattern}")
        assert not granted.is_failure, granted

    def publish(self, name: str, payload: bytes) -> mqtt.ReasonCode:
        info = self.client.publish(name, payload, qos=1)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS
        return wait_for(lambda: self.state.acks.get(info.mid), 10, f"the PUBACK of {name}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients():
    made: list[Client] = []

    def make(*args, **kwargs) -> Client:
        made.append(Client(*args, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.close()


# ------------------------------------------------------------------ the script
def test_make_certs_makes_a_ca_server_and_device_certificates_that_verify(tmp_path):
    certs = tmp_path / "certs"
    assert make_certs("ca", str(certs)).returncode == 0
    made = make_certs("server", str(certs), "broker.hall.local", "10.0.0.2")
    assert made.returncode == 0, made.stderr
    assert make_certs("device", str(certs), "k-w03").returncode == 0
    for key in ("ca.key", "server.key", "devices/k-w03.key"):
        assert stat.S_IMODE((certs / key).stat().st_mode) == 0o600, key

    verified = subprocess.run(["openssl", "verify", "-CAfile", certs / "ca.crt", certs / "server.crt",
                               certs / "devices" / "k-w03.crt"], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    server = subprocess.run(["openssl", "x509", "-in", certs / "server.crt", "-noout", "-text"],
                            capture_output=True, text=True, check=True).stdout
    assert "DNS:broker.hall.local, IP Address:10.0.0.2" in server and "TLS Web Server Authentication" in server
    device = subprocess.run(["openssl", "x509", "-in", certs / "devices" / "k-w03.crt", "-noout", "-subject",
                             "-ext", "extendedKeyUsage"], capture_output=True, text=True, check=True).stdout
    assert "CN = k-w03" in device and "TLS Web Client Authentication" in device


def test_make_certs_never_overwrites_a_key_and_says_what_is_wrong(tmp_path):
    certs = tmp_path / "certs"
    assert "Usage:" in make_certs("--help").stdout
    missing = make_certs("device", str(certs), "k-1")
    assert missing.returncode != 0 and "no CA in" in missing.stderr
    assert make_certs("ca", str(certs)).returncode == 0
    ca_before = (certs / "ca.key").read_bytes()
    again = make_certs("ca", str(certs))
    assert again.returncode != 0 and "exists already" in again.stderr
    assert (certs / "ca.key").read_bytes() == ca_before
    assert make_certs("device", str(certs), "k-1").returncode == 0
    key_before = (certs / "devices" / "k-1.key").read_bytes()
    assert "exists already" in make_certs("device", str(certs), "k-1").stderr
    assert (certs / "devices" / "k-1.key").read_bytes() == key_before
    bad = make_certs("device", str(certs), "K_1")
    assert bad.returncode != 0 and "DEVICE_ID" in bad.stderr and not (certs / "devices" / "K_1.key").exists()
    bad_ip = make_certs("server", str(certs), "broker", "10.0.0.x")
    assert bad_ip.returncode != 0 and "not an IPv4 or IPv6 address" in bad_ip.stderr
    assert not (certs / "server.key").exists()


# ------------------------------------------------------------------ the listener
def test_a_device_certificate_gets_in_and_its_cn_is_its_user_name(tls_broker, pki, clients):
    observer = clients(COLLECTOR, pki.ca, *pki.device(COLLECTOR))
    assert observer.connect(tls_broker.port).connected, observer.state.error
    observer.subscribe("ceval/#")
    kiosk = clients("k-a", pki.ca, *pki.device("k-a"))  # no user name, no password: the certificate is both
    assert kiosk.connect(tls_broker.port).connected, kiosk.state.error
    wait_for(lambda: "as k-a (p5, c1, k10, u'k-a')" in tls_broker.log_text(), 5,
             "the broker to name the client k-a, user name and client id")

    refused = kiosk.publish(topic("k-b", "event"), b"not mine")  # the ACL's pattern: k-a writes only k-a's
    assert refused.is_failure and refused.getName() == "Not authorized", refused
    assert not kiosk.publish(topic("k-a", "event"), b"mine").is_failure
    wait_for(lambda: (topic("k-a", "event"), b"mine") in observer.state.messages, 5, "k-a's event at the observer")
    assert (topic("k-b", "event"), b"not mine") not in observer.state.messages


def test_a_client_without_a_certificate_is_refused_at_the_handshake(tls_broker, pki, clients):
    anonymous = clients("nobody", pki.ca)  # trusts the CA, shows nothing
    outcome = anonymous.connect(tls_broker.port)
    assert not outcome.connected and outcome.error, outcome
    wait_for(lambda: "peer did not return a certificate" in tls_broker.log_text(), 5,
             "the broker to refuse the handshake")

    # What the client sees, below paho: under TLS 1.3 the broker's alert follows the client's half of the
    # handshake, so it arrives on the first read, before any MQTT byte.
    context = ssl.create_default_context(cafile=str(pki.ca))
    with (socket.create_connection(("localhost", tls_broker.port), timeout=10) as raw,
          context.wrap_socket(raw, server_hostname="localhost") as tls,
          pytest.raises(ssl.SSLError, match="(?i)certificate.required")):
        tls.recv(1)


def test_a_client_that_trusts_another_ca_refuses_the_broker(tls_broker, pki, clients):
    cert, key = pki.device("k-a")
    outcome = clients("k-a", pki.other_ca, cert, key).connect(tls_broker.port)
    assert not outcome.connected and "certificate verify failed" in outcome.error, outcome.error


@pytest.mark.slow
def test_a_kiosk_delivers_its_ratings_over_tls_to_a_collector_with_its_own_certificate(tls_broker, pki, tmp_path):
    collector = pki.files(COLLECTOR)
    server = ServerProcess(tmp_path / "ceval.sqlite3", f"mqtts://127.0.0.1:{tls_broker.port}", env={
        "CEVAL_MQTT_CA_FILE": collector.ca_file, "CEVAL_MQTT_CERT_FILE": collector.cert_file,
        "CEVAL_MQTT_KEY_FILE": collector.key_file}).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", tls_broker.url, "k-a", "w61", tls=pki.files("k-a")))
    try:
        kiosk.start()
        given = {rate(kiosk, score): score for score in [4, 5, 1, 3, 2] * 20}
        wait_for(lambda: kiosk.outbox.count() == 0, 20, "the server's acks over TLS")
        assert dict(query(server.db, "SELECT event_id, score FROM ratings WHERE window = 'w61'")) == given
        assert "collector connected to mqtts://127.0.0.1" in server.log.read_text()
    finally:
        kiosk.stop()
        server.stop()


def test_a_kiosk_without_its_certificate_is_refused_and_tries_again_less_and_less_often(tls_broker, pki, tmp_path):
    before = tls_broker.log_text().count("peer did not return a certificate")
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", tls_broker.url, "k-b", "w62",
                                        tls=TlsFiles(str(pki.ca))))
    started = time.monotonic()
    try:
        kiosk.start()
        wait_for(lambda: tls_broker.log_text().count("peer did not return a certificate") - before >= 4, 15,
                 "four refused handshakes")
        assert time.monotonic() - started >= 0.2 + 0.4 + 0.8, "three waits between four attempts, each doubled"
        assert not kiosk.publisher.connected and kiosk.outbox.count() == 1, "the start-up event waits in the outbox"
    finally:
        kiosk.stop()


def test_a_revoked_certificate_is_refused_after_the_broker_restarts(pki, clients):
    for name in ("k-old", "k-new"):
        assert make_certs("device", str(pki.dir), name).returncode == 0
    broker = TlsMosquitto(pki.dir.parent / "broker-revoke", pki.dir).start()
    try:
        old = clients("k-old", pki.ca, *pki.device("k-old"))
        assert old.connect(broker.port).connected, old.state.error
        kept = pki.dir.parent / "kept"  # what stays on the retired kiosk
        shutil.copytree(pki.dir / "devices", kept, dirs_exist_ok=True)

        revoked = make_certs("revoke", str(pki.dir), "k-old")
        assert revoked.returncode == 0, revoked.stderr
        assert not pki.device("k-old")[0].exists(), "moved to revoked/, so a new k-old may be made"
        broker.stop()
        broker.start()

        failures = broker.log_text().count("certificate verify failed")
        refused = clients("k-old", pki.ca, kept / "k-old.crt", kept / "k-old.key").connect(broker.port)
        assert not refused.connected, "a revoked certificate must not get in"
        wait_for(lambda: broker.log_text().count("certificate verify failed") > failures, 5,
                 "the broker to refuse the revoked certificate at the handshake")
        other = clients("k-new", pki.ca, *pki.device("k-new"))
        assert other.connect(broker.port).connected, other.state.error
    finally:
        broker.stop()
