"""The collector: it receives, stores and acknowledges the kiosks' messages. A server has one, or a group
of them sharing the load (server/domain/collector_group.py; `ceval server --collectors N`).

Two threads make a pipeline, receive -> batch -> commit -> acknowledge:

- the MQTT thread owns the paho client (mqtt_link.py): while the store thread waits for work it reads,
  puts what it read in the inbox and answers the collectors' pings (collector_guard.py); between rounds
  it keeps the kiosks' retained configs up to date (config_push.py, every 1.5 seconds) and sends the
  API's invites for a case number to their kiosks (invite_push.py, every quarter of a second);
- the store thread takes what waits in the inbox, at most `batch_max` messages, has the Ingestor store
  them in one transaction and, once that committed, hands the batch back to the MQTT thread, which
  publishes the acks of the contract and acknowledges each message to the broker (PUBACK). The Ingestor
  runs in a process of its own (store_process.py), so that checking and writing the messages does not
  take turns with reading and acknowledging them on one interpreter lock.

Nothing is acknowledged before its batch committed. The session is persistent: what a collector
received but never acknowledged, the broker sends again to the next one (or after a reconnect),
and what was stored already comes again as a duplicate, which the Ingestor knows by its id. A batch
that could not be stored (a locked or full disk, or a store process that died and is started again) is
tried again, and nothing after it is stored first.
"""
from __future__ import annotations

import collections
import gc
import logging
import threading
from pathlib import Path

import paho.mqtt.client as mqtt

from server.domain.collector_group import GROUP, SESSION_EXPIRY_SECONDS, shared_filters
from server.domain.comment_token import TOKEN_LIFETIME_SECONDS
from server.domain.zones import DEFAULT_ZONE
from server.ingest.collector_guard import (
    check_client_id,
    is_guard_topic,
    ping_topic,
    pong_for,
    presence_payload,
    presence_topic,
)
from server.ingest.config_push import ConfigPush
from server.ingest.invite_push import InvitePush
from server.ingest.mqtt_link import Delivery, MqttLink
from server.ingest.store_process import IngestOptions, Stored, StoreFailed, StoreProcess
from server.ops.secret import instance_secret
from server.store import Store
from server.store.db import open_db
from shared.broker_url import TlsFiles, parse_broker_url
from shared.clock import Clock, SystemClock
from shared.timefmt import to_ms
from shared.topics import PREFIX

log = logging.getLogger(__name__)

WAIT_SECONDS = 0.1  # how long the store thread waits for a message before it looks at `stop` again
# The MQTT thread hands what it read to the store thread, and sends the acks handed back, every READ_MAX messages:
# reading a whole batch's worth first (2000) kept both waiting for as long as that took (bench/ingest.py).
READ_MAX = 250


class Inbox:
    """Deliveries from the MQTT thread to the store thread, in arrival order."""

    def __init__(self) -> None:
        self._items: collections.deque[Delivery] = collections.deque()
        self._arrived = threading.Event()

    def put(self, deliveries: list[Delivery]) -> None:
        self._items.extend(deliveries)
        self._arrived.set()

    def take(self, most: int, timeout: float) -> list[Delivery]:
        """Up to `most` deliveries, oldest first; waits up to `timeout` seconds for the first one."""
        self._arrived.clear()  # before looking: a put() after this sets it again
        if not self._items and not self._arrived.wait(timeout):
            return []
        items = self._items
        return [items.popleft() for _ in range(min(most, len(items)))]

    def __len__(self) -> int:
        return len(self._items)


class Collector:
    def __init__(self, db_path: str | Path, broker_url: str, *, clock: Clock | None = None, strict: bool = False,
                 client_id: str = "ceval-collector", username: str | None = None, password: str | None = None,
                 batch_max: int = 2000, gap_timeout: float = 600.0, public_url: str | None = None,
                 secret_key: str | None = None, token_lifetime: float = TOKEN_LIFETIME_SECONDS,
                 tls: TlsFiles | None = None, timezone: str = DEFAULT_ZONE, members: int = 1,
                 pushes: bool = True):
        """`members`: how many collectors share the load (1: this one alone, on a subscription of its own);
        `pushes`: whether this one keeps the kiosks' configs and sends the invites (member 1 of a group)."""
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
        self.members = members
        self.pushes = pushes
        self.configs: ConfigPush | None = None
        self.invites: InvitePush | None = None
        self._published: list[int] = []  # message ids the broker acknowledged this round (the MQTT thread's)
        self.stored = self.duplicates = self.rejected = 0
        self.inbox = Inbox()
        self._stop = threading.Event()   # the store thread ends after the batch it is storing
        self._halt = threading.Event()   # then the MQTT thread sends what it was handed and ends
        self._ready = threading.Event()  # the store process has opened the database (and migrated it)
        # It subscribes to all of ceval/#, so its own acks come back: the Ingestor ignores them, and they are
        # acknowledged like the rest.
        self.client_id = check_client_id(client_id)
        self.presence = presence_topic(client_id)  # retained while it runs: collector_guard.py
        # The MQTT thread reads ahead while a batch is stored, up to one more batch: what waits unread stays
        # with the broker (its session holds it), not in this process's memory.
        self.link = MqttLink(client_id, self.broker.host, self.broker.port, self._on_delivery,
                             may_read=lambda: len(self.inbox) < batch_max, read_max=READ_MAX,
                             session_expiry=SESSION_EXPIRY_SECONDS if members > 1 else None)
        client = self.link.client
        if username:
            client.username_pw_set(username, password)
        if self.broker.tls:  # tls: the CA that signed the broker, and a client certificate if it asks for one
            client.tls_set(**(tls or TlsFiles()).tls_set_args())
        elif tls:
            log.warning("TLS files ignored: the broker %s is not mqtts://", self.broker)
        client.will_set(self.presence, None, qos=1, retain=True)  # a dead collector's presence is cleared
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        self._store_thread = threading.Thread(target=self._store_loop, name="collector-store", daemon=True)
        self._mqtt_thread = threading.Thread(target=self._mqtt_loop, name="collector-mqtt", daemon=True)

    def start(self) -> None:
        self._store_thread.start()
        self._mqtt_thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """The batch being stored is finished and acknowledged; what waits in the inbox is not (it comes again)."""
        self._stop.set()
        self._store_thread.join(timeout)
        self._halt.set()
        self.link.wake()
        self._mqtt_thread.join(timeout)

    # ------------------------------------------------------------ the store thread
    def _store_loop(self) -> None:
        store = StoreProcess(IngestOptions(str(self.db_path), self.clock, self.strict, self.gap_timeout,
                                           self.timezone, self.members))
        try:
            store.start()  # it opens the database first, and migrates it
            self._ready.set()
            batch: list[Delivery] = []
            backoff = 0.2
            while not self._stop.is_set():
                if not batch:
                    batch = self.inbox.take(self.batch_max, WAIT_SECONDS)
                    if not batch:
                        continue
                if self._store(store, batch):
                    batch, backoff = [], 0.2
                else:
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            store.stop()

    def _store(self, store: StoreProcess, batch: list[Delivery]) -> bool:
        """Store a batch in one transaction, then hand it back to be acknowledged; False if it was not stored."""
        messages = [(d.topic, d.payload) for d in batch if not is_guard_topic(d.topic)]
        try:
            result = store.store(messages) if messages else Stored()
        except StoreFailed as exc:
            # Nothing was committed and nothing is acknowledged: the batch is tried again.
            log.error("%s; the batch of %d messages goes again", exc, len(messages))
            return False
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.link.send(batch, result.acks)
        return True

    # ------------------------------------------------------------ the MQTT thread
    def _mqtt_loop(self) -> None:
        while not self._ready.wait(WAIT_SECONDS):
            if self._halt.is_set() or not self._store_thread.is_alive():
                return
        store = Store(open_db(self.db_path, migrate=False))
        client = self.link.client
        try:
            if self.pushes:
                self.configs = ConfigPush(store, self.clock, self._publish_retained, self.secret_key,
                                          self.public_url, self.token_lifetime)
                self.invites = InvitePush(store, self.clock, self._publish_invite)
            gc.freeze()  # what start-up made lives as long as the process: keep it out of every collection
            self.link.run(self._halt, self._between)
            if client.is_connected():
                client.publish(self.presence, None, qos=1, retain=True)  # no Last Will on a clean stop
                client.disconnect()
                self.link.flush()
        finally:
            self.link.close()
            store.db.close()

    def _between(self) -> None:
        if not self.pushes:
            return
        if self._published:
            self._record_published()
        if not self.link.client.is_connected():
            return
        if self.configs.due():
            self._push_configs()
        if self.invites.due():
            self._push_invites()

    def _on_delivery(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if is_guard_topic(delivery.topic):  # the collectors' presence and pings, no kiosk's message
                answer = pong_for(self.client_id, delivery.topic, delivery.payload)
                if answer:
                    self.link.client.publish(answer, b"", qos=1)
        self.inbox.put(deliveries)  # guard messages too: they are acknowledged in their turn, and stored as nothing

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
        info = self.link.client.publish(name, payload, qos=1, retain=False)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def _publish_retained(self, name: str, payload: bytes) -> int | None:
        info = self.link.client.publish(name, payload, qos=1, retain=True)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        if self.pushes and not reason_code.is_failure:
            self._published.append(mid)  # recorded after the round, a round's at once

    def _record_published(self) -> None:
        mids, self._published = self._published, []
        for push in (self.configs, self.invites):
            if push is not None:
                try:
                    push.published(*mids)
                except Exception:
                    log.exception("could not record messages as sent (%s)", type(push).__name__)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the collector: %s", reason_code)
            return
        log.info("collector connected to %s (session present: %s)", self.broker, flags.session_present)
        everything = f"{PREFIX.split('/')[0]}/#"
        if self.members == 1:
            # Everything under ceval/, so messages on topics outside the contract are seen and rejected.
            client.unsubscribe(shared_filters(GROUP))  # the session may be one a group's member 1 had
            client.subscribe(everything, qos=1)
        else:
            # The kiosks' messages, each to one member of the group, and the pings for this one; the broker's ACL
            # keeps kiosks to their own event and status topics.
            client.unsubscribe(everything)  # the session may be one this collector had alone
            client.subscribe([(name, 1) for name in [*shared_filters(GROUP), ping_topic(self.client_id)]])
        client.publish(self.presence, presence_payload(self.client_id, self.broker, to_ms(self.clock.now())),
                       qos=1, retain=True)
