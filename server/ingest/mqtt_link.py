"""The collector's MQTT connection: one thread owns a paho client and makes every call on it.

The client keeps a persistent session, on MQTT 3.1.1 (paho decodes its packets far faster than
MQTT 5's, and decoding is most of this thread's work) unless it is one of a group of collectors
(MQTT 5: shared subscriptions, and a session expiry interval in place of 3.1.1's clean session flag),
and acknowledges nothing by itself (paho's
`manual_ack=True`): what a round of reading brought is handed on as a list of `Delivery`, and the
PUBACK of a QoS 1 message goes out only once another thread hands its delivery back through
`send()`. That thread never calls the client: without `loop_start()`, paho writes a queued packet
to the socket from the thread that queued it, so two threads calling it could interleave their
bytes. `send()` queues the work and wakes this thread, which runs paho's loop for an external
event loop (`socket()`, `loop_read()`, `loop_write()`, `loop_misc()`) around one select() on the
socket and its own wake-up pair.

Reading waits while `may_read()` says no (the collector: while a whole batch waits to be stored),
for up to HOLD_SECONDS, so that what the store thread cannot keep up with stays with the broker.

A delivery is acknowledged only on the connection it came on. The broker keeps an unacknowledged
message in the session and sends it again after a reconnect, under the same packet id, and that
copy is acknowledged once it is handled: a second PUBACK for the first copy could acknowledge a
later message that the broker had given the freed packet id.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.1  # longest wait in select() when nothing arrives
HOLD_SECONDS = 1.0  # longest wait for `may_read()`: keepalive and the collectors' pings need reading
INVALID_TOPIC = "(a topic that is not UTF-8)"  # stands for one: Mosquitto passes valid UTF-8 only


class Delivery(NamedTuple):
    """One message as it arrived, and what acknowledging it takes."""
    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # which connection of the link it came on: 1, 2, ...


class MqttLink:
    """A paho client on a persistent session; `run()` is the thread that owns it.

    Configure `client` (credentials, TLS, will, on_connect, on_publish) before `run()`; its
    on_message is the link's. `deliver` gets what each round read, in arrival order; a round stops
    reading once it has `read_max` messages.
    """

    def __init__(self, client_id: str, host: str, port: int, deliver: Callable[[list[Delivery]], None],
                 may_read: Callable[[], bool] = lambda: True, read_max: int = 1000, keepalive: int = 30,
                 session_expiry: int | None = None):
        """`session_expiry`: seconds the broker keeps the session after a disconnect, on MQTT 5; None: MQTT 3.1.1
        with a persistent session (the broker's `persistent_client_expiration` bounds it)."""
        self.host, self.port, self.keepalive = host, port, keepalive
        self.deliver, self.may_read, self.read_max = deliver, may_read, read_max
        self.session_expiry = session_expiry
        if session_expiry is None:
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                      protocol=mqtt.MQTTv311, clean_session=False, manual_ack=True)
        else:
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                      protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.on_message = self._on_message
        self.received = 0    # messages read (each round hands its own to `deliver` as it ends)
        self.acked = 0       # PUBACKs queued
        self.not_acked = 0   # handed back on a later connection than theirs: the broker sends them again
        self.connection = 0  # how many connections this link opened (connect() succeeded)
        self._arrived: list[Delivery] = []  # what the current round has read
        self._held_since: float | None = None  # when reading began to wait for `may_read()`
        self._handed: collections.deque[tuple[list[Delivery], list[tuple[str, bytes]]]] = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # ------------------------------------------------------------ any thread
    def send(self, done: Iterable[Delivery], publish: Iterable[tuple[str, bytes]] = ()) -> None:
        """Acknowledge `done` and publish each (topic, payload) at QoS 1, from the link's thread."""
        self._handed.append((list(done), list(publish)))
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # a wake-up is waiting already, or the link was closed
            self._wake_w.send(b"\0")

    # ------------------------------------------------------------ the link's thread
    def run(self, halt: threading.Event, between: Callable[[], None] = lambda: None) -> None:
        """Connect, keep connected, receive and send until `halt` is set; then send what was handed back.

        `between` runs in this thread after every round, so it may call the client.
        """
        up, backoff = False, 0.2
        while not halt.is_set():
            if not up:
                up = self._connect()
                if not up:
                    halt.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
            try:
                up = self._round()
            except Exception:  # never let one fault end collection
                log.exception("collector fault; reconnecting")
                up = False
            between()
        self._send_handed()
        self.flush()

    def flush(self, timeout: float = 2.0) -> None:
        """Write what paho has queued (a burst of PUBACKs can fill the socket's buffer), for up to `timeout` s."""
        deadline = time.monotonic() + timeout
        while self.client.want_write() and (sock := self.client.socket()) is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [sock], [], left)[1]:
                log.warning("queued packets not written within %.1f s", timeout)
                return
            if self.client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
                return

    def close(self) -> None:
        """After `run()`, and after the caller disconnected the client: closes the wake-up pair."""
        self._wake_r.close()
        self._wake_w.close()

    def _connect(self) -> bool:
        try:
            if self.session_expiry is None:
                self.client.connect(self.host, self.port, keepalive=self.keepalive)
            else:
                properties = Properties(PacketTypes.CONNECT)
                properties.SessionExpiryInterval = self.session_expiry
                self.client.connect(self.host, self.port, keepalive=self.keepalive, clean_start=False,
                                    properties=properties)
        except OSError as exc:
            log.info("broker %s:%d unreachable: %s", self.host, self.port, exc)
            return False
        self.connection += 1  # before anything can arrive on it: that happens in _round(), in this thread
        return True

    def _round(self) -> bool:
        """One select() and what it found: read, send what was handed back, write, keep alive.

        False once the connection is lost (paho has closed the socket then)."""
        sock = self.client.socket()
        if sock is None:
            return False
        reading = self._reading()
        pending = reading and _buffered(sock)
        readable, _, _ = select.select([sock, self._wake_r] if reading else [self._wake_r],
                                       [sock] if self.client.want_write() else [], [],
                                       0.0 if pending or self._handed else IDLE_SECONDS)
        if self._wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
        if (sock in readable or pending) and self._read(sock) != mqtt.MQTT_ERR_SUCCESS:
            return False
        self._send_handed()
        if self.client.want_write() and self.client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
            return False
        return self.client.loop_misc() == mqtt.MQTT_ERR_SUCCESS

    def _reading(self) -> bool:
        """Whether this round reads: when `may_read()`, or once in HOLD_SECONDS while it says no."""
        if self.may_read():
            self._held_since = None
            return True
        now = time.monotonic()
        if self._held_since is None or now - self._held_since >= HOLD_SECONDS:
            read = self._held_since is not None
            self._held_since = now
            return read
        return False

    def _read(self, sock) -> mqtt.MQTTErrorCode:
        """Read while bytes wait, until `read_max` messages are in (paho's loop_read() takes a packet or a few
        at a time), then hand them on."""
        rc = mqtt.MQTT_ERR_SUCCESS
        try:
            while len(self._arrived) < self.read_max:
                before = self.received
                rc = self.client.loop_read()
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    break  # lost: paho has closed the socket
                if self.received == before and not _waiting(sock):
                    break  # nothing more (a packet other than a message, or none, was read)
        finally:
            if self._arrived:
                arrived, self._arrived = self._arrived, []
                self.deliver(arrived)
        return rc

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        try:
            name = message.topic
        except UnicodeDecodeError:
            name = INVALID_TOPIC
        self.received += 1
        self._arrived.append(Delivery(name, message.payload, message.mid, message.qos, self.connection))

    def _send_handed(self) -> None:
        """Publish and acknowledge what other threads handed back, in the order they did."""
        client, connection = self.client, self.connection
        while self._handed:
            done, publish = self._handed.popleft()
            for name, payload in publish:
                client.publish(name, payload, qos=1)
            live = client.is_connected()
            for delivery in done:
                if not delivery.qos:
                    continue
                if live and delivery.connection == connection:
                    client.ack(delivery.mid, delivery.qos)
                    self.acked += 1
                else:
                    self.not_acked += 1


def _buffered(sock) -> bool:
    """A TLS socket may hold decrypted bytes that select() cannot see."""
    pending = getattr(sock, "pending", None)
    return bool(pending and pending())


def _waiting(sock) -> bool:
    """Whether bytes wait to be read, without waiting for any."""
    return _buffered(sock) or bool(select.select([sock], [], [], 0)[0])
