"""The collector's buffered MQTT reader gets every message whole and in order, across a broker restart."""
from __future__ import annotations

import paho.mqtt.client as mqtt

from server.mqtt_reader import BufferedClient

from ..helpers import wait_for


def _client(cls, client_id, received=None):
    client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False)
    if received is not None:
        client.on_connect = lambda c, u, f, rc, p: c.subscribe("t/#", qos=1)
        client.on_message = lambda c, u, m: received.append((m.topic, m.payload))
    return client


def test_many_messages_of_many_sizes_arrive_whole_and_in_order(own_broker):
    received: list[tuple[str, bytes]] = []
    reader = _client(BufferedClient, "reader", received)
    writer = _client(mqtt.Client, "writer")
    sizes = [0, 1, 126, 127, 128, 16383, 16384, 70_000] + [37 + i % 900 for i in range(3000)]
    sent = [(f"t/{i % 7}", bytes([i % 251]) * size) for i, size in enumerate(sizes)]
    try:
        reader.connect(own_broker.host, own_broker.port)
        wait_for(lambda: reader.loop(0.05) == 0 and reader.is_connected(), 10, "the reader to connect")
        reader.loop(0.05)  # the subscription
        writer.connect(own_broker.host, own_broker.port)
        writer.loop_start()
        infos = [writer.publish(topic, payload, qos=1) for topic, payload in sent]
        wait_for(lambda: reader.loop(0.05) == 0 and len(received) >= len(sent), 30, "every message")
        assert all(info.rc == 0 for info in infos)
        assert received == sent
        reader._read_buffer += b"\x30\x05"  # half a packet of a connection about to end
        own_broker.stop()
        wait_for(lambda: reader.loop(0.05) != 0 or not reader.is_connected(), 10, "the reader to see the loss")
        assert not reader._read_buffer, "nothing of the old connection is kept"
        own_broker.start()
        wait_for(lambda: reader.reconnect() == 0, 10, "the reader to reconnect")
        received.clear()
        wait_for(lambda: writer.is_connected(), 15, "the writer to reconnect")
        writer.publish("t/again", b"after the restart", qos=1)
        # QoS 1: what was not acknowledged before the restart may come again, whole, before the new one.
        wait_for(lambda: reader.loop(0.05) == 0 and ("t/again", b"after the restart") in received, 15,
                 "the message after the restart")
        assert set(received) <= set(sent) | {("t/again", b"after the restart")}
    finally:
        writer.loop_stop()
        writer.disconnect()
        reader.disconnect()


def test_every_message_is_acknowledged_so_none_comes_again_after_a_reconnect(own_broker):
    received: list[tuple[str, bytes]] = []
    reader = _client(BufferedClient, "acking-reader", received)
    writer = _client(mqtt.Client, "acking-writer")
    sent = [(f"t/{i % 5}", str(i).encode() * 20) for i in range(2000)]
    try:
        reader.connect(own_broker.host, own_broker.port)
        wait_for(lambda: reader.loop(0.05) == 0 and reader.is_connected(), 10, "the reader to connect")
        reader.loop(0.05)  # the subscription
        writer.connect(own_broker.host, own_broker.port)
        writer.loop_start()
        for topic, payload in sent:
            writer.publish(topic, payload, qos=1)
        wait_for(lambda: reader.loop(0.05) == 0 and len(received) >= len(sent), 30, "every message")
        # The broker handles a connection's packets in order: once it acknowledges this, it has read every
        # PUBACK before it (a reconnect would otherwise drop whatever of them the old socket still held).
        probe = reader.publish("probe/reader", b"", qos=1)
        wait_for(lambda: reader.loop(0.05) == 0 and probe.is_published(), 10, "the broker to read every PUBACK")
        assert received == sent
        reader.disconnect()
        received.clear()
        reader.reconnect()  # the same persistent session: whatever was not acknowledged would come again
        wait_for(lambda: reader.loop(0.05) == 0 and reader.is_connected(), 10, "the reader to reconnect")
        writer.publish("t/marker", b"after", qos=1)
        wait_for(lambda: reader.loop(0.05) == 0 and ("t/marker", b"after") in received, 15, "the marker")
        assert received == [("t/marker", b"after")], f"{len(received) - 1} messages came again"
    finally:
        writer.loop_stop()
        writer.disconnect()
        reader.disconnect()
