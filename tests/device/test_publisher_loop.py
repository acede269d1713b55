"""device/publisher.py `loop_once`: a paho client driven one round at a time, on a real Mosquitto."""
from __future__ import annotations

import contextlib
import os
import threading

import paho.mqtt.client as mqtt

from device.publisher import loop_once

from ..helpers import wait_for


def _client(name: str) -> tuple[mqtt.Client, threading.Event, list[bytes]]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
    connected, received = threading.Event(), []
    client.on_connect = lambda c, *_: (c.subscribe(f"test/{name}", qos=1), connected.set())
    client.on_message = lambda c, u, message: received.append(message.payload)
    return client, connected, received


def _open_sockets() -> set[int]:
    """This process's file descriptors that are sockets."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                found.add(int(fd))
    return found


def _drive(client: mqtt.Client, condition, what: str) -> None:
    """Rounds of loop_once until `condition()`; each must succeed."""
    def round_done():
        assert loop_once(client, 0.05) == mqtt.MQTT_ERR_SUCCESS
        return condition()
    wait_for(round_done, what=what, interval=0)


def test_a_client_connects_publishes_and_receives_on_its_socket_alone(broker):
    client, connected, received = _client("loop-once")
    before = _open_sockets()
    client.connect(broker.host, broker.port, keepalive=30)
    try:
        _drive(client, connected.is_set, "the CONNACK")
        infos = [client.publish("test/loop-once", f"m{i}".encode(), qos=1) for i in range(50)]
        _drive(client, lambda: len(received) == 50 and all(info.is_published() for info in infos),
               "50 messages acknowledged and received back")
        assert received == [f"m{i}".encode() for i in range(50)]
        # paho's loop() would have opened its wake-up socket pair beside the connection's socket
        assert _open_sockets() - before == {client.socket().fileno()}
    finally:
        client.disconnect()


def test_a_client_never_connected_has_no_connection():
    client, _, _ = _client("loop-once-none")
    assert loop_once(client, 0.0) == mqtt.MQTT_ERR_NO_CONN


def test_a_broker_gone_ends_the_rounds_with_the_connection_lost(own_broker):
    client, connected, _ = _client("loop-once-lost")
    client.connect(own_broker.host, own_broker.port, keepalive=30)
    _drive(client, connected.is_set, "the CONNACK")
    own_broker.kill()
    codes = []
    wait_for(lambda: codes.append(loop_once(client, 0.05)) or codes[-1] != mqtt.MQTT_ERR_SUCCESS,
             what="a round that finds the connection lost", interval=0)
    assert codes[-1] == mqtt.MQTT_ERR_CONN_LOST
    assert client.socket() is None  # paho closed it: the caller connects again
