"""The kiosk's MQTT adapter: one thread owns the paho client and drains the outbox.

It publishes unacknowledged events oldest first at QoS 1, deletes them when an
ack covers them, sends again what stays unacknowledged past `ack_timeout`
without an ack that deleted some of it (doubling while no ack comes, up to 5
minutes; and everything in flight after a reconnect), keeps a retained status
with a Last Will, hands the server's retained config to `on_config` and its
invites for a case number (an extension of v1) to `on_invite`.

The wait counts from the last ack that deleted events, not from when the oldest
was sent: while the server works through a backlog (a hall, or a city, back
from a day offline) acks come for part of what is in flight, and the rest is
on its way, not lost. Sending it again then would only add to the backlog.

An ack beyond the outbox's last seq deletes nothing: it is counted in
`ignored_acks` (reported in the status) and logged.
"""
from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from shared.broker_url import TlsFiles, parse_broker_url
from shared.clock import Clock, SystemClock
from shared.contract import OFFLINE_STATUS, Config, ContractError, Invite, Status, parse_ack, parse_config, parse_invite
from shared.timefmt import format_ts
from shared.topics import topic

from .core import NotStored
from .outbox import AckBeyond, Outbox

log = logging.getLogger(__name__)

MAX_RESEND_AFTER = 300.0  # seconds: the longest wait before unacknowledged events go again
STATUS_INTERVAL = 1.0  # seconds: the retained status follows the outbox, at most this often


class Publisher:
    def __init__(self, device: str, broker_url: str, outbox: Outbox, status: Callable[[], Status],
                 on_config: Callable[[Config], None] = lambda config: None, *,
                 username: str | None = None, password: str | None = None,
                 ack_timeout: float = 10.0, window: int = 500, clock: Clock | None = None,
                 on_invite: Callable[[Invite], None] = lambda invite: None, tls: TlsFiles | None = None):
        self.device = device
        self.broker = parse_broker_url(broker_url)
        self.outbox = outbox
        self.status = status
        self.on_config = on_config
        self.on_invite = on_invite
        self.ack_timeout = ack_timeout
        self._resend_after = ack_timeout
        self.window = window
        self.clock = clock or SystemClock()
        self.connected = False
        self.acked = 0  # events acknowledged since start
        self.ignored_acks = 0  # acks beyond the outbox's last seq since start
        self.last_ignored_ack: tuple[int, str] | None = None  # (upto_seq, when: RFC 3339) of the last of them
        self._inflight: dict[int, float] = {}  # seq -> when last sent (monotonic)
        self._progress_at = float("-inf")  # when an ack last deleted events (monotonic)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._status_due = False
        self._status_sent = float("-inf")
        self._thread = threading.Thread(target=self._run, name=f"publisher-{device}", daemon=True)

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device,
                                  protocol=mqtt.MQTTv311, clean_session=True)
        self.client.username_pw_set(username or device, password)
        if self.broker.tls:  # tls: the CA that signed the broker, and this kiosk's certificate if it has one
            self.client.tls_set(**(tls or TlsFiles()).tls_set_args())
        # `window` bounds what is in flight (_pump); paho's own bound would rescan every message it holds
        # on each PUBACK, which costs more than the rest of sending an event at a window of 500
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.client.will_set(topic(device, "status"), OFFLINE_STATUS.to_json(), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.message_callback_add(topic(device, "ack"), self._on_ack)
        self.client.message_callback_add(topic(device, "config"), self._on_config)
        self.client.message_callback_add(topic(device, "invite"), self._on_invite)

    # ------------------------------------------------------------ control
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Send what is new in the outbox, and the status (something in it changed)."""
        self._status_due = True
        self._wake.set()

    def stop(self, timeout: float = 3.0) -> None:
        """Say offline cleanly and disconnect."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------ the thread
    def _run(self) -> None:
        backoff = 0.2
        socket_open = False  # connected, or still waiting for the CONNACK (over TLS it may outlast a loop)
        while not self._stop.is_set():
            if not socket_open:
                try:
                    self.client.connect(self.broker.host, self.broker.port, keepalive=30)
                except OSError as exc:  # ssl.SSLError too: a broker this kiosk does not trust
                    (log.warning if backoff == 0.2 else log.debug)("broker %s unreachable: %s", self.broker, exc)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                socket_open = True
            try:
                if loop_once(self.client, 0.05) != mqtt.MQTT_ERR_SUCCESS:
                    if not self.connected:  # refused, or closed before the CONNACK (a certificate refused)
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, 5.0)
                    self.connected = socket_open = False
                    continue
                if self.connected:
                    backoff = 0.2
                    self._pump()
            except Exception:  # a fault here must never end delivery: log, wait, carry on
                log.exception("publisher fault; retrying")
                self._stop.wait(1.0)
        self._say_offline()

    def _pump(self) -> None:
        now = self.clock.monotonic()
        waited = now - max(next(iter(self._inflight.values())), self._progress_at) if self._inflight else 0.0
        if waited >= self._resend_after:
            log.info("no ack within %.1f s; sending %d events again", self._resend_after, len(self._inflight))
            # while the server stays away, send again less and less often: the broker queues every copy
            self._resend_after = min(self._resend_after * 2, MAX_RESEND_AFTER)
            self._inflight.clear()
            self._wake.set()
        room = self.window - len(self._inflight)
        if room > 0 and (self._wake.is_set() or not self._inflight):
            self._wake.clear()
            after = next(reversed(self._inflight)) if self._inflight else 0
            for seq, payload in self.outbox.pending(after, room):
                info = self.client.publish(topic(self.device, "event"), payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break
                self._inflight[seq] = now
        if self._status_due and now - self._status_sent >= STATUS_INTERVAL:
            self._status_due = False
            self._publish_status()

    def _publish_status(self) -> None:
        self._status_sent = self.clock.monotonic()
        self.client.publish(topic(self.device, "status"), self.status().to_json(), qos=1, retain=True)

    def _say_offline(self) -> None:
        if self.connected:
            info = self.client.publish(topic(self.device, "status"), OFFLINE_STATUS.to_json(), qos=1, retain=True)
            deadline = self.clock.monotonic() + 2.0
            while not info.is_published() and self.clock.monotonic() < deadline:
                if loop_once(self.client, 0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
            self.client.disconnect()
        self.connected = False

    # ------------------------------------------------------------ callbacks (this thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s", self.broker)
        self.connected = True
        self._inflight.clear()  # whatever was in flight is sent again, oldest first
        self._wake.set()
        client.subscribe([(topic(self.device, "ack"), 1), (topic(self.device, "config"), 1),
                          (topic(self.device, "invite"), 1)])
        self._publish_status()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if self.connected:
            log.info("disconnected from %s: %s", self.broker, reason_code)
        self.connected = False

    @staticmethod
    def _parsed(parse, payload: bytes, what: str):
        """The message parsed by the contract, or None (and a warning) when it is not one."""
        try:
            return parse(payload)
        except ContractError as exc:
            log.warning("ignored a bad %s: %s", what, exc.reason)
            return None

    def _on_ack(self, client, userdata, message):
        ack = self._parsed(parse_ack, message.payload, "ack")
        if ack is None:
            return
        try:
            removed = self.outbox.ack(ack.stream, ack.upto_seq)
        except AckBeyond as exc:
            self.ignored_acks += 1
            self.last_ignored_ack = (exc.upto_seq, format_ts(self.clock.now()))
            log.warning("ignored an ack beyond our events (%s): nothing deleted", exc)
            self._status_due = True
            return
        except NotStored as exc:
            log.error("an ack could not delete its events (%s); they stay and go again", exc)
            return
        if ack.stream == self.outbox.stream:
            for seq in [s for s in self._inflight if s <= ack.upto_seq]:
                del self._inflight[seq]
            self.acked += removed
            if removed:
                self._resend_after = self.ack_timeout
                self._progress_at = self.clock.monotonic()
                self._status_due = True
                self._wake.set()

    def _on_config(self, client, userdata, message):
        if not message.payload:
            return
        config = self._parsed(parse_config, message.payload, "config")
        if config is not None:
            self.on_config(config)

    def _on_invite(self, client, userdata, message):
        invite = self._parsed(parse_invite, message.payload, "invite")
        if invite is not None:
            self.on_invite(invite)


def loop_once(client: mqtt.Client, timeout: float) -> mqtt.MQTTErrorCode:
    """One round of paho's loop made of its calls for an external event loop (`socket()`, `want_write()`,
    `loop_read()`, `loop_write()`, `loop_misc()`), as the collector's link drives its client: wait up to `timeout`
    s for the socket, read what came, write what waits, keep alive. MQTT_ERR_SUCCESS, or why the connection is
    lost (paho has closed it then).

    Not `client.loop()`: its first call opens a wake-up socket pair, and from then on every publish() writes a
    byte to it, to end a select() that, in a client one thread drives, that thread itself is about to make. That
    write and the wake-up it causes were a tenth to a fifth of the CPU a kiosk spent on an event (docs/scaling.md).
    """
    sock = client.socket()
    if sock is None:
        return mqtt.MQTT_ERR_NO_CONN
    pending = getattr(sock, "pending", None)  # a TLS socket may hold decrypted bytes that select() cannot see
    buffered = bool(pending and pending())
    readable, _, _ = select.select([sock], [sock] if client.want_write() else [], [], 0.0 if buffered else timeout)
    if readable or buffered:
        rc = client.loop_read()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    if client.want_write():
        rc = client.loop_write()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    return client.loop_misc()
