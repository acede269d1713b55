"""The collector's buffered MQTT reader gets every message whole and in order, across a broker restart."""
from __future__ import annotations

import contextlib

import paho.mqtt.client as mqtt

from server.ingest.mqtt_reader import BufferedClient

from ..helpers import wait_for


def _reader(client_id: str, received: list) -> BufferedClient:
    """A BufferedClient that subscribes to t/# and appends what it receives."""
    reader = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                            clean_session=False, on_receive=lambda topic, payload: received.append((topic, payload)))
    reader.on_connect = lambda c, u, f, rc, p: c.subscribe("t/#", qos=1)
    return reader


@contextlib.contextmanager
def _reader_and_writer(broker, name: str, received: list):
    """A reader connected and subscribed, and a paho client to write to it."""
    reader = _reader(f"{name}-reader", received)
    writer = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-writer", protocol=mqtt.MQTTv311,
                         clean_session=False)
    try:
        reader.connect(broker.host, broker.port)
        wait_for(lambda: reader.loop(0.05) == 0 and reader.is_connected(), 10, "the reader to connect")
        reader.loop(0.05)  # the subscription
        writer.connect(broker.host, broker.port)
        writer.loop_start()
        yield reader, writer
    finally:
        writer.loop_stop()
        writer.disconnect()
        reader.disconnect()


def _receive_all(reader, received: list, count: int) -> None:
    wait_for(lambda: reader.loop(0.05) == 0 and len(received) >= count, 30, "every message")


def test_many_messages_of_many_sizes_arrive_whole_and_in_order(own_broker):
    received: list[tuple[str, bytes]] = []
    sizes = [0, 1, 126, 127, 128, 16383, 16384, 70_000] + [37 + i % 900 for i in range(3000)]
    sent = [(f"t/{i % 7}", bytes([i % 251]) * size) for i, size in enumerate(sizes)]
    with _reader_and_writer(own_broker, "sizes", received) as (reader, writer):
        infos = [writer.publish(topic, payload, qos=1) for topic, payload in sent]
        _receive_all(reader, received, len(sent))
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


def test_every_message_is_acknowledged_so_none_comes_again_after_a_reconnect(own_broker):
    received: list[tuple[str, bytes]] = []
    sent = [(f"t/{i % 5}", str(i).encode() * 20) for i in range(2000)]
    with _reader_and_writer(own_broker, "acking", received) as (reader, writer):
        for topic, payload in sent:
            writer.publish(topic, payload, qos=1)
        _receive_all(reader, received, len(sent))
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


def test_qos_0_messages_arrive_too_and_need_no_acknowledgement(own_broker):
    received: list[tuple[str, bytes]] = []
    sent = [(f"t/{i % 3}", str(i).encode()) for i in range(500)]
    with _reader_and_writer(own_broker, "qos0", received) as (reader, writer):
        for topic, payload in sent:
            writer.publish(topic, payload, qos=0)
        _receive_all(reader, received, len(sent))
        assert received == sent
        assert reader.is_connected()


def _publish_packet(topic: str, payload: bytes, qos: int = 1, mid: int = 1) -> bytes:
    body = len(topic.encode()).to_bytes(2, "big") + topic.encode() + (mid.to_bytes(2, "big") if qos else b"") + payload
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x30 | qos << 1]) + bytes(encoded) + body


def test_whole_publishes_are_taken_from_what_was_read_and_the_rest_is_left_to_paho():
    received: list[tuple[str, bytes]] = []
    reader = _reader("unit-reader", received)
    big = b"z" * 20_000  # a two-byte remaining length
    head = _publish_packet("t/a", b"one", mid=7) + _publish_packet("t/b", b"", qos=0) + _publish_packet("t/c", big, mid=300)
    pingresp = b"\xd0\x00"
    reader._read_buffer += head + pingresp + _publish_packet("t/d", b"after")
    reader._take_publishes()
    assert received == [("t/a", b"one"), ("t/b", b""), ("t/c", big)]
    assert bytes(reader._acks) == b"\x40\x02\x00\x07" + b"\x40\x02\x01\x2c"  # none for QoS 0, in order
    assert bytes(reader._read_buffer).startswith(pingresp), "a packet of another kind stops the taking"

    for partial in (b"\x32", b"\x32\x80", _publish_packet("t/e", b"cut short")[:-1]):
        reader._read_buffer[:] = partial
        reader._take_publishes()
        assert bytes(reader._read_buffer) == partial, "what is not whole yet waits for the next read"
    for refused in (_publish_packet("t/f", b"qos 2", qos=2),  # never asked for
                    b"\x32\x03\x00\x09t",  # a topic longer than the packet
                    b"\x32\x80\x80\x80\x80\x01"):  # a remaining length of five bytes
        reader._read_buffer[:] = refused
        reader._take_publishes()
        assert bytes(reader._read_buffer) == refused, "paho reads it and ends the connection"
    assert len(received) == 3
    reader._in_packet.update(command=0x34, packet=bytearray(_publish_packet("t/g", b"qos 2", qos=2)[2:]))
    assert reader._handle_publish() == mqtt.MQTT_ERR_PROTOCOL, "nor does paho's reading take QoS 2"
    assert len(received) == 3

