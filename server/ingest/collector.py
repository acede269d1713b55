"""The collector's MQTT adapter: exactly one per server, one thread owns the client.

It keeps a persistent session (messages for it are queued while it is
down), batches what arrives, hands each batch to the Ingestor in one
transaction, and publishes the acks only after that transaction committed.
Between batches, every 1.5 seconds, it keeps the kiosks' retained configs
up to date (config_push.py), and every quarter of a second it sends the
API's invites for a case number to their kiosks (invite_push.py).
"""
from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path

import paho.mqtt.client as mqtt

from server.domain.comment_token import TOKEN_LIFETIME_SECONDS
from server.domain.zones import DEFAULT_ZONE
from server.ingest.collector_guard import check_client_id, is_guard_topic, pong_for, presence_payload, presence_topic
from server.ingest.config_push import ConfigPush
from server.ingest.ingestor import Ingestor, Message
from server.ingest.invite_push import InvitePush
from server.ingest.mqtt_reader import BufferedClient
from server.ops.secret import instance_secret
from server.store import Store
from server.store.db import open_db
from shared.broker_url import TlsFiles, parse_broker_url
from shared.clock import Clock, SystemClock
from shared.timefmt import to_ms
from shared.topics import PREFIX, topic

log = logging.getLogger(__name__)



class Collector:
    def __init__(self, db_path: str | Path, broker_url: str, *, clock: Clock | None = None, strict: bool = False,
                 client_id: str = "ceval-collector", username: str | None = None, password: str | None = None,
                 batch_max: int = 500, gap_timeout: float = 600.0, public_url: str | None = None,
                 secret_key: str | None = None, token_lifetime: float = TOKEN_LIFETIME_SECONDS,
                 tls: TlsFiles | None = None, timezone: str = DEFAULT_ZONE):
        self.db_path = db_path
        self.broker = parse_broker_url(broker_url)
        self.clock = clock or SystemClock()
        self.strict = strict
        self.batch_max = batch_max
        self.gap_timeout = gap_timeout
        self.public_url = public_url
        self.secret_key = secret_key or instance_secret(db_path)  # the web app's, which checks the tokens
        self.token_lifetime = token_lifetime
        self.timezone = timezone  # the reports' zone: a case's deadline counts in it for windows in no site
        self.configs: ConfigPush | None = None
        self.invites: InvitePush | None = None
        self.stored = self.duplicates = self.rejected = 0
        self._pending: list[Message] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="collector", daemon=True)
        # MQTT 3.1.1 with a persistent session: paho parses 3.1.1 packets far faster than MQTT 5's,
        # and the collector's thread is what limits ingest. Its own acks come back and are ignored.
        self.client_id = check_client_id(client_id)
        self.presence = presence_topic(client_id)  # retained while it runs: collector_guard.py
        self.client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                     protocol=mqtt.MQTTv311, clean_session=False, on_receive=self._on_receive)
        if username:
            self.client.username_pw_set(username, password)
        if self.broker.tls:  # tls: the CA that signed the broker, and a client certificate if it asks for one
            self.client.tls_set(**(tls or TlsFiles()).tls_set_args())
        elif tls:
            log.warning("TLS files ignored: the broker %s is not mqtts://", self.broker)
        self.client.will_set(self.presence, None, qos=1, retain=True)  # a dead collector's presence is cleared
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        store = Store(open_db(self.db_path))
        ingestor = Ingestor(store, self.clock, self.strict, self.gap_timeout, self.timezone)
        self.configs = ConfigPush(store, self.clock, self._publish_retained, self.secret_key, self.public_url,
                                  self.token_lifetime)
        self.invites = InvitePush(store, self.clock, self._publish_invite)
        gc.freeze()  # what start-up made lives as long as the process: keep it out of every collection
        connected = False
        backoff = 0.2
        while not self._stop.is_set():
            if not connected:
                try:
                    self.client.connect(self.broker.host, self.broker.port, keepalive=30)
                    connected, backoff = True, 0.2
                except OSError as exc:
                    log.info("broker %s unreachable: %s", self.broker, exc)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
            before = len(self._pending)
            try:
                if self.client.loop(timeout=0.01 if self._pending else 0.1) != mqtt.MQTT_ERR_SUCCESS:
                    connected = False
            except Exception:  # never let one fault end collection
                log.exception("collector fault; reconnecting")
                connected = False
            if self._pending and (len(self._pending) == before or len(self._pending) >= self.batch_max):
                self._flush(ingestor)
            if connected and self.configs.due() and self.client.is_connected():
                self._push_configs()
            if connected and self.invites.due() and self.client.is_connected():
                self._push_invites()
        if connected:
            self.client.publish(self.presence, None, qos=1, retain=True)  # no Last Will on a clean stop
            self.client.disconnect()

    def _flush(self, ingestor: Ingestor) -> None:
        batch, self._pending = self._pending, []
        try:
            result = ingestor.handle(batch)
        except Exception:
            # Nothing was committed and nothing is acked: the kiosks send these again.
            log.exception("could not store a batch of %d messages", len(batch))
            return
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        for device, ack in result.acks:
            self.client.publish(topic(device, "ack"), ack.to_json(), qos=1)

    def _push_configs(self) -> None:
        try:
            self.configs.run()
        except Exception:  # a config fault never stops collection; it is tried again shortly
            log.exception("could not update the kiosks' configs")

    def _push_invites(self) -> None:
        try:
            self.invites.run()
        except Exception:  # an invite fault never stops collection; it is tried again shortly
            log.exception("could not send the invites")

    def _publish_invite(self, name: str, payload: bytes) -> int | None:
        info = self.client.publish(name, payload, qos=1, retain=False)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def _publish_retained(self, name: str, payload: bytes) -> int | None:
        info = self.client.publish(name, payload, qos=1, retain=True)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def _on_receive(self, name: str, payload: bytes) -> None:
        if is_guard_topic(name):  # the collectors' presence and pings, no kiosk's message
            answer = pong_for(self.client_id, name, payload)
            if answer:
                self.client.publish(answer, b"", qos=1)
            return
        self._pending.append(Message(name, payload))

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        if reason_code.is_failure:
            return
        for push in (self.configs, self.invites):
            if push is not None:
                try:
                    push.published(mid)
                except Exception:
                    log.exception("could not record a message as sent (%s)", type(push).__name__)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the collector: %s", reason_code)
            return
        log.info("collector connected to %s (session present: %s)", self.broker, flags.session_present)
        # Everything under ceval/, so messages on topics outside the contract are seen and rejected.
        client.subscribe(f"{PREFIX.split('/')[0]}/#", qos=1)
        client.publish(self.presence, presence_payload(self.client_id, self.broker, to_ms(self.clock.now())),
                       qos=1, retain=True)
