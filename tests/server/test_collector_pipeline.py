"""The collector's pipeline through a real Mosquitto: receive (MqttLink), batch, commit, acknowledge.

Nothing is acknowledged to the broker before its batch committed, so what a collector received but did
not store comes again (after a reconnect, a broker restart or the collector's death), and what comes
twice is stored once."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from server.ingest.collector import Collector, Inbox
from server.ingest.collector_guard import ping_topic, pong_topic, presence_topic
from server.ingest.mqtt_link import HOLD_SECONDS, Delivery, MqttLink
from shared.topics import topic

from ..helpers import ServerProcess, connected_client, flood_allowed, query, wait_for
from .events import event


def _client(client_id: str, clean: bool = True, manual_ack: bool = False) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                       clean_session=clean, manual_ack=manual_ack)


class Device:
    """A paho client that publishes as a device at QoS 1 and keeps what it receives (acks, pongs); it
    subscribes on every connect, as its session ends with each."""

    def __init__(self, broker, name: str, *subscriptions: str):
        self.name = name
        self.client = _client(f"device-{name}-{secrets.token_hex(4)}")
        self.client.max_inflight_messages_set(1000)
        self.received: list[tuple[str, bytes]] = []
        self.subscribed = 0  # how many times it subscribed: once per connection
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.on_subscribe = lambda *a: setattr(self, "subscribed", self.subscribed + 1)
        self.client.on_connect = lambda c, *a: c.subscribe([(topic(name, "ack"), 1), *((s, 1) for s in subscriptions)])
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        wait_for(lambda: self.subscribed, 10, f"{name} subscribed")

    def publish(self, payloads, kind: str = "event", name: str | None = None) -> None:
        """Publish each and wait until the broker has every one (its PUBACK)."""
        infos = [self.client.publish(name or topic(self.name, kind), p, qos=1) for p in payloads]
        wait_for(lambda: all(i.is_published() for i in infos), 30, f"{len(infos)} messages of {self.name} sent")

    def acked(self, stream: str) -> int:
        """The highest upto_seq the server acknowledged for `stream`."""
        return max((json.loads(p)["upto_seq"] for t, p in self.received
                    if t == topic(self.name, "ack") and json.loads(p)["stream"] == stream), default=0)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _events(stream: str, count: int) -> list[bytes]:
    """Valid rating events of many sizes (an unknown field pads them), up to the contract's 4 KiB."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())
    return [json.dumps(event(seq, stream=stream, ts=now, score=seq % 5 + 1, pad="p" * (seq * 37 % 3900)))
            .encode() for seq in range(1, count + 1)]


# ---------------------------------------------------------------- the link alone
@contextlib.contextmanager
def _link(broker, client_id: str, received: list[Delivery], **options):
    """An MqttLink subscribed to t/#, running in a thread of its own, handing deliveries to `received`."""
    link = MqttLink(client_id, broker.host, broker.port, received.extend, **options)
    subscribed = threading.Event()
    link.client.on_connect = lambda c, u, f, rc, p: c.subscribe("t/#", qos=1)
    link.client.on_subscribe = lambda *a: subscribed.set()
    halt = threading.Event()
    thread = threading.Thread(target=link.run, args=(halt,), daemon=True)
    thread.start()
    try:
        wait_for(subscribed.is_set, 10, "the link subscribed")
        yield link
    finally:
        halt.set()
        link.wake()
        thread.join(10)
        assert not thread.is_alive()
        link.client.disconnect()  # run() has returned: this thread makes the client's calls now
        link.flush()
        link.close()


def _writer(broker, name: str):
    writer = _client(name)
    writer.max_inflight_messages_set(1000)
    return connected_client(broker, writer)


def _broker_has_read_all(link: MqttLink) -> None:
    """The broker handles a connection's packets in order: once it acknowledges a publish queued after the
    PUBACKs, it has read them (a session taken over drops what the old socket still held)."""
    published = threading.Event()
    link.client.on_publish = lambda *a: published.set()
    link.send([], [("probe/link", b"")])
    wait_for(published.is_set, 10, "the broker to read every PUBACK")


def _nothing_comes_again(broker, client_id: str) -> None:
    """A new link on the same session gets only what is published now: everything before was acknowledged."""
    received: list[Delivery] = []
    with _link(broker, client_id, received), _writer(broker, f"{client_id}-marker") as writer:
        writer.publish("t/marker", b"now", qos=1)
        wait_for(lambda: any(d.topic == "t/marker" for d in received), 15, "the marker")
        assert [(d.topic, d.payload) for d in received] == [("t/marker", b"now")]


def test_messages_of_many_sizes_arrive_whole_in_order_and_are_acknowledged_only_when_handed_back(broker):
    received: list[Delivery] = []
    sizes = [0, 1, 126, 127, 128, 16383, 16384, 70_000] + [37 + i % 900 for i in range(3000)]
    sent = [(f"t/{i % 7}", bytes([i % 251]) * size) for i, size in enumerate(sizes)]
    with _link(broker, "link-sizes", received) as link, _writer(broker, "link-sizes-writer") as writer:
        for name, payload in sent:
            writer.publish(name, payload, qos=1)
        wait_for(lambda: len(received) >= len(sent), 30, "every message")
        assert [(d.topic, d.payload) for d in received] == sent
        assert {(d.qos, d.connection) for d in received} == {(1, 1)}
        assert len({d.mid for d in received}) == len(sent), "none acknowledged yet: no packet id is free again"
        assert link.acked == 0
        link.send(received[:1000])
        link.send(received[1000:])
        wait_for(lambda: link.acked == len(sent), 10, "every PUBACK sent")
        assert link.not_acked == 0
        _broker_has_read_all(link)
    _nothing_comes_again(broker, "link-sizes")


def test_what_was_not_handed_back_comes_again_and_only_the_new_copy_is_acknowledged(own_broker):
    received: list[Delivery] = []
    sent = [(f"t/{i % 3}", str(i).encode() * 10) for i in range(300)]
    with _link(own_broker, "link-again", received) as link, _writer(own_broker, "link-again-writer") as writer:
        for name, payload in sent:
            writer.publish(name, payload, qos=1)
        wait_for(lambda: len(received) >= len(sent), 15, "every message")
        first = list(received)
        own_broker.stop()  # Mosquitto saves its sessions, with what it sent and was not acknowledged
        own_broker.start()
        wait_for(lambda: len(received) >= 2 * len(sent), 20, "every message again, after the restart")
        again = received[len(first):]
        assert [(d.topic, d.payload) for d in again] == sent
        assert {d.connection for d in first} == {1} and {d.connection for d in again} == {2}
        link.send(first)  # stored, say, but on a connection that is gone: its PUBACKs would hit the new copies
        link.send(again)
        wait_for(lambda: link.acked == len(sent), 10, "the new copies acknowledged")
        assert link.not_acked == len(sent)
        _broker_has_read_all(link)
    _nothing_comes_again(own_broker, "link-again")


def test_reading_held_by_may_read_resumes_within_hold_seconds_and_at_once_when_it_says_yes(broker):
    received: list[Delivery] = []
    storing = threading.Event()
    storing.set()
    # Its CONNACK and SUBACK are read, too, only once a hold ran out.
    with _link(broker, "link-hold", received, may_read=lambda: not storing.is_set()), \
            _writer(broker, "link-hold-writer") as writer:
        writer.publish("t/held", b"1", qos=1)
        wait_for(lambda: received, 10, "the message, though may_read() never said yes")
        storing.clear()
        published = time.monotonic()
        writer.publish("t/free", b"2", qos=1)
        wait_for(lambda: len(received) == 2, 10, "the message, read at once")
        assert time.monotonic() - published < HOLD_SECONDS


def test_the_inbox_hands_over_in_arrival_order_at_most_a_batch_at_a_time():
    inbox = Inbox()
    assert inbox.take(10, 0.01) == []
    items = [Delivery("t", bytes([i]), i, 1, 1) for i in range(25)]
    inbox.put(items[:20])
    inbox.put(items[20:])
    assert inbox.take(10, 0.01) == items[:10]
    assert inbox.take(100, 0.01) == items[10:]
    late = threading.Timer(0.05, inbox.put, ([items[0]],))
    late.start()
    assert inbox.take(10, 5.0) == [items[0]], "a wait ends when the first delivery arrives"
    late.join()


# ---------------------------------------------------------------- the collector
def _connected(db, broker, client_id: str) -> tuple[Collector, Device]:
    """A collector started, and a watcher of its presence, once it is subscribed: its presence follows its
    subscription, so from then on the broker keeps what a kiosk sends for it."""
    collector = Collector(db, broker.url, client_id=client_id)
    collector.start()
    watcher = Device(broker, "watcher", presence_topic(client_id))
    try:
        wait_for(lambda: any(t == presence_topic(client_id) and p for t, p in watcher.received), 15,
                 "the collector connected")
    except BaseException:
        watcher.close()
        collector.stop()
        raise
    return collector, watcher


def test_a_batch_that_cannot_commit_is_not_acknowledged_and_its_copy_after_a_broker_restart_is_stored_once(
        tmp_path, own_broker):
    db = flood_allowed(tmp_path / "server.sqlite3")
    collector, watcher = _connected(db, own_broker, "pipeline-restart")
    device = Device(own_broker, "k9")
    lock = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        device.publish([b'{"v":1,"online":true}'], kind="status")
        wait_for(lambda: query(db, "SELECT 1 FROM devices WHERE device = 'k9'"), 15, "the collector storing")
        events = _events("stream-k9", 300)
        lock.execute("BEGIN IMMEDIATE")  # the collector's next transaction waits for this one
        before = collector.link.received
        device.publish(events)
        wait_for(lambda: collector.link.received >= before + len(events), 15, "the collector receiving them")
        own_broker.stop()
        own_broker.start()
        wait_for(lambda: collector.link.received >= before + 2 * len(events), 30,
                 "the broker sending again what the collector never acknowledged")
        assert collector.link.connection >= 2
        wait_for(lambda: device.subscribed >= 2, 15, "the kiosk back, to hear its acks")
        lock.execute("ROLLBACK")
        wait_for(lambda: device.acked("stream-k9") == len(events), 30, "the kiosk's acks")
        wait_for(lambda: collector.duplicates == len(events), 30, "the second copies handled")
        assert query(db, "SELECT count(*), count(DISTINCT event_id) FROM ratings") == [(300, 300)]
        assert (collector.stored, collector.rejected) == (300, 0)
        assert collector.link.not_acked >= len(events), "the first copies came on a connection that is gone"
    finally:
        lock.close()
        device.close()
        collector.stop()
    # Its presence is cleared after every PUBACK on the same connection: once that is seen, the broker has them.
    wait_for(lambda: (presence_topic("pipeline-restart"), b"") in watcher.received, 10, "the presence cleared")
    watcher.close()
    _nothing_left_for(own_broker, "pipeline-restart")


def _store_processes(of: int | None = None) -> list[int]:
    """The pids of the store processes (server/ingest/store_process.py) of process `of` (this one)."""
    of, found = of or os.getpid(), []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == of and b"spawn_main" in Path(entry.path, "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def test_a_store_process_killed_in_its_batch_is_started_again_and_the_batch_stored_once(tmp_path, own_broker):
    db = flood_allowed(tmp_path / "server.sqlite3")
    collector, watcher = _connected(db, own_broker, "pipeline-store")
    device = Device(own_broker, "k7")
    lock = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        [first] = _store_processes()
        events = _events("stream-k7", 300)
        lock.execute("BEGIN IMMEDIATE")  # the store process's next transaction waits for this one
        before = collector.link.received
        device.publish(events)
        wait_for(lambda: collector.link.received >= before + len(events), 15, "the collector receiving them")
        wait_for(lambda: len(collector.inbox) < len(events), 15, "the store process holding a batch of them")
        os.kill(first, signal.SIGKILL)
        lock.execute("ROLLBACK")
        wait_for(lambda: device.acked("stream-k7") == len(events), 30, "every event stored and acknowledged")
        assert query(db, "SELECT count(*), count(DISTINCT event_id) FROM ratings") == [(300, 300)]
        assert (collector.stored, collector.duplicates) == (300, 0), "the killed batch committed nothing"
        assert _store_processes() not in ([], [first]), "a new store process"
        assert collector.link.not_acked == 0
    finally:
        lock.close()
        device.close()
        watcher.close()
        collector.stop()
    assert _store_processes() == [], "the store process ends with its collector"


def _nothing_left_for(broker, client_id: str) -> None:
    """The collector's session holds no event it did not acknowledge: a client taking it over gets none."""
    received: list[str] = []
    taker = _client(client_id, clean=False, manual_ack=True)
    taker.on_message = lambda c, u, m: received.append(m.topic)
    connected = threading.Event()
    taker.on_connect = lambda *a: connected.set()
    with connected_client(broker, taker):
        wait_for(connected.is_set, 10, "the session taken over")
        with _writer(broker, f"{client_id}-marker") as writer:  # the session's subscription, ceval/#, gets it
            writer.publish(topic("marker", "status"), b'{"v":1,"online":false}', qos=1)
            wait_for(lambda: topic("marker", "status") in received, 15, "the marker")
        assert [t for t in received if t.endswith("/event")] == []


def test_a_collector_killed_between_receive_and_commit_loses_nothing(tmp_path, broker):
    db = flood_allowed(tmp_path / "ceval.sqlite3")
    server = ServerProcess(db, broker.url).start()
    client_id, nonce = f"collector-{server.port}", secrets.token_hex(8)
    device = Device(broker, "k8", pong_topic(client_id, nonce))
    lock = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        device.publish([b'{"v":1,"online":true}'], kind="status")
        wait_for(lambda: query(db, "SELECT 1 FROM devices WHERE device = 'k8'"), 15, "the collector storing")
        events = _events("stream-k8", 200)
        lock.execute("BEGIN IMMEDIATE")  # the collector's next transaction waits for this one
        device.publish(events)
        # The broker keeps one client's messages in order, and the collector answers a ping as it reads it:
        # the pong says it has read every event before it.
        device.publish([nonce.encode()], name=ping_topic(client_id))
        wait_for(lambda: any(t == pong_topic(client_id, nonce) for t, _ in device.received), 15, "the pong")
        [store] = _store_processes(server.process.pid)
        server.kill()
        # Its store process, waiting for the lock with a batch, dies with it: it commits nothing no one acknowledges.
        wait_for(lambda: not _alive(store), 10, "the store process gone with its collector")
        lock.execute("ROLLBACK")
        assert query(db, "SELECT count(*) FROM ratings") == [(0,)]
        server.start()
        wait_for(lambda: device.acked("stream-k8") == len(events), 30, "every event stored and acknowledged")
        assert query(db, "SELECT count(*), count(DISTINCT event_id) FROM ratings") == [(200, 200)]
    finally:
        lock.close()
        device.close()
        server.stop()
