"""What keeps a second `ceval server` from disturbing a running one.

There is exactly one collector per broker session: a second client with the collector's client id takes the
broker session over and knocks the running collector off. So before its collector connects, `ceval server`

1. takes a lock beside the database (`DB-collector.lock`, flock): a second server on the same database, on this
   machine, stops there. The lock is the kernel's: a crashed server leaves none behind.
2. asks the broker whether a collector with its client id is connected. A running collector keeps a retained
   presence message on `ceval/collector/CLIENT_ID` (cleared by its Last Will when it dies) and answers a ping on
   `ceval/collector/CLIENT_ID/ping` with a pong on `.../pong/NONCE`. The probe connects under a client id of its
   own, without user name or client certificate, so it can never be taken for the collector: a presence that
   answers is a live collector (refused unless `--take-over`); one that does not is a stale retained message
   (say the broker and the server lost power together) and is ignored. A broker that refuses anonymous clients
   (the shipped Mosquitto config does) cannot be asked: then only the lock guards, and the log says so.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from shared.broker_url import BrokerAddress, TlsFiles
from shared.timefmt import local_text

log = logging.getLogger(__name__)

ROOT = "ceval/collector"
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")  # it names topics: no / + # or spaces
NONCE_PATTERN = re.compile(r"^[0-9a-f]{8,32}\Z")
PROBE_SECONDS = 3.0  # how long the probe waits for the broker, and then for a pong


def check_client_id(client_id: str) -> str:
    if not CLIENT_ID_PATTERN.match(client_id):
        raise ValueError(f"client id {client_id!r} is not 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'")
    return client_id


def presence_topic(client_id: str) -> str:
    return f"{ROOT}/{client_id}"


def ping_topic(client_id: str) -> str:
    return f"{ROOT}/{client_id}/ping"


def pong_topic(client_id: str, nonce: str) -> str:
    return f"{ROOT}/{client_id}/pong/{nonce}"


def presence_payload(client_id: str, broker: BrokerAddress, now_ms: int) -> bytes:
    return json.dumps({"client_id": client_id, "host": socket.gethostname(), "pid": os.getpid(),
                       "since": now_ms, "broker": str(broker)}).encode()


def is_guard_topic(name: str) -> bool:
    """Presence, pings and probes: the collectors' own traffic, never a kiosk's message."""
    return name == ROOT or name.startswith(ROOT + "/")


def pong_for(client_id: str, name: str, payload: bytes) -> str | None:
    """The pong topic to answer a ping on, or None when this is no (well-formed) ping for `client_id`."""
    if name != ping_topic(client_id) or len(payload) > 32:
        return None
    nonce = payload.decode("ascii", "replace")
    return pong_topic(client_id, nonce) if NONCE_PATTERN.match(nonce) else None


class GuardError(RuntimeError):
    """Another server is collecting: the message says which and what to do."""


class DatabaseLock:
    """An exclusive flock on `DB-collector.lock`, held as long as the server runs; the file names its holder."""

    def __init__(self, db: str | Path):
        self.path = Path(f"{db}-collector.lock")
        self._file = None

    def acquire(self) -> None:
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115  (held open: the open file holds the flock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise GuardError(f"another ceval server ({holder}) is collecting into this database: stop it first "
                             "(systemctl stop ceval-server)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None


def live_collector(broker: BrokerAddress, client_id: str, tls: TlsFiles | None = None,
                   wait: float = PROBE_SECONDS) -> dict | None:
    """The presence of a live collector with `client_id` on `broker`, or None when there is none, or when the
    broker cannot be asked (unreachable, or it refuses anonymous clients: logged)."""
    nonce = secrets.token_hex(8)
    presence, echo, pong = presence_topic(client_id), f"{ROOT}/{client_id}/probe/{nonce}", pong_topic(client_id, nonce)
    found: dict = {}
    subscribed, echoed, answered, refused = (threading.Event() for _ in range(4))

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            found["refused"] = str(reason_code)
            refused.set()
            return
        client.subscribe([(presence, 1), (echo, 1), (pong, 1)])

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        subscribed.set()
        client.publish(echo, b"", qos=1)  # comes back after any retained presence

    def on_message(client, userdata, message):
        if message.topic == presence and message.payload:
            try:
                found["presence"] = json.loads(message.payload)
            except ValueError:
                found["presence"] = {"client_id": client_id}
        elif message.topic == echo:
            echoed.set()
        elif message.topic == pong:
            answered.set()

    probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{client_id}-probe-{nonce}",
                        protocol=mqtt.MQTTv311, clean_session=True)
    if broker.tls:  # the broker's CA only: no client certificate, which would carry the collector's identity
        probe.tls_set(ca_certs=tls.ca_file if tls else None)
    probe.on_connect, probe.on_subscribe, probe.on_message = on_connect, on_subscribe, on_message
    try:
        probe.connect(broker.host, broker.port, keepalive=10)
    except OSError as exc:
        log.info("could not ask %s whether a collector %s runs (%s): going on", broker, client_id, exc)
        return None
    probe.loop_start()
    try:
        deadline = time.monotonic() + wait
        while not (echoed.is_set() or refused.is_set()) and time.monotonic() < deadline:
            echoed.wait(0.02)
        if refused.is_set() or not echoed.is_set():
            log.info("the broker %s did not let an anonymous probe in (%s): only the lock beside the database "
                     "guards against a second collector", broker, found.get("refused", "no answer"))
            return None
        if "presence" not in found:
            return None
        probe.publish(ping_topic(client_id), nonce.encode(), qos=1)
        if answered.wait(wait):
            return found["presence"]
        log.warning("a stale presence of collector %s on %s did not answer a ping: taking its place",
                    client_id, broker)
        return None
    finally:
        probe.disconnect()
        probe.loop_stop()


def describe(presence: dict) -> str:
    """"pid 123 on hall-server since 2026-03-01 09:00" from a presence message."""
    since = presence.get("since")
    when = f" since {local_text(since, None, 'minute')}" if isinstance(since, int) else ""
    return f"pid {presence.get('pid', '?')} on {presence.get('host', '?')}{when}"
