"""A paho client that reads the socket in large pieces.

paho reads each packet with three or more small recv() calls and handles one
packet per select(); at thousands of messages a second those system calls are
most of the collector's receive cost. This client reads what the socket holds
in one call, hands paho its bytes from memory, and handles every packet
already read before it waits on the socket again. It also does without
paho's wake-up socket pair: one thread owns the client and makes every call
on it, so nothing needs waking, and paho would write to that pair once for
every PUBACK it queues.
"""
from __future__ import annotations

import paho.mqtt.client as mqtt

READ_SIZE = 64 * 1024


class BufferedClient(mqtt.Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_buffer = bytearray()

    def _sock_recv(self, bufsize: int) -> bytes:
        if not self._read_buffer:
            data = super()._sock_recv(READ_SIZE)  # raises BlockingIOError when nothing waits
            if not data:
                return data  # the broker closed the connection
            self._read_buffer += data
        chunk = bytes(self._read_buffer[:bufsize])
        del self._read_buffer[:bufsize]
        return chunk

    def _sock_close(self) -> None:
        self._read_buffer.clear()  # nothing of an old connection may reach the next one
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTT_ERR_SUCCESS and self._read_buffer and self._sock is not None:
            rc = super().loop_read(max_packets)
        return rc

    def loop(self, timeout: float = 1.0) -> mqtt.MQTTErrorCode:
        if timeout < 0.0:
            raise ValueError("Invalid timeout.")
        return self._loop(timeout)
