"""A paho client that receives MQTT 3.1.1 messages in bulk, for the collector.

paho reads each packet with three or more small recv() calls, handles one
packet per select(), builds an MQTTMessage for each and writes each PUBACK
with a send() of its own; at thousands of messages a second that is most of
the collector's receive cost. This client:

- reads what the socket holds in one call and hands paho its bytes from memory;
- decodes every whole QoS 0 or 1 PUBLISH in what it read itself and hands
  each to `on_receive(topic, payload)`; other packets go through paho, and so
  does a PUBLISH split across two reads, once whole, to the same hand-over;
- writes the PUBACKs of what one read brought in one send(), in the order
  the messages came;
- does without paho's wake-up socket pair: one thread owns the client and
  makes every call on it, so nothing needs waking, and paho would write to
  that pair once for every packet it queues.

The collector subscribes at QoS 1, so the broker never sends it QoS 2; one
that came anyway is a protocol error and ends the connection.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

READ_SIZE = 64 * 1024
PUBLISH, PUBACK = 0x30, 0x40


class BufferedClient(mqtt.Client):
    def __init__(self, *args, on_receive: Callable[[str, bytes], None], **kwargs):
        super().__init__(*args, **kwargs)
        if self._protocol != mqtt.MQTTv311:
            raise ValueError("BufferedClient speaks MQTT 3.1.1 only")
        self.on_receive = on_receive
        self._read_buffer = bytearray()
        self._acks = bytearray()  # PUBACKs of what the current read handed over, written as one

    # ------------------------------------------------------------ reading
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
        self._acks.clear()
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)  # reads the socket (and handles the first packet)
        while rc == mqtt.MQTT_ERR_SUCCESS and self._read_buffer and self._sock is not None:
            if self._in_packet["command"] == 0:  # paho is between packets
                self._take_publishes()
                if not self._read_buffer:
                    break
            rc = super().loop_read(max_packets)  # a packet other than a whole PUBLISH
        if self._acks and self._sock is not None:
            self._out_packet.append({"command": PUBACK, "mid": 0, "qos": 0, "pos": 0, "to_process": len(self._acks),
                                     "packet": bytes(self._acks), "info": None})
            self._acks.clear()
            if rc == mqtt.MQTT_ERR_SUCCESS:
                rc = self.loop_write()
        return rc

    def _take_publishes(self) -> None:
        """Handle every whole QoS 0 or 1 PUBLISH at the head of the read buffer; stop at anything else."""
        buf = self._read_buffer
        pos, end = 0, len(buf)
        while pos + 2 <= end:
            command = buf[pos]
            if command & 0xF0 != PUBLISH:
                break
            length, shift, i = 0, 0, pos + 1
            while i < end and i - pos <= 4:
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                shift += 7
                i += 1
                if byte < 0x80:
                    break
            else:
                break  # the length is not all here (or is malformed: paho will say so)
            if i + length > end or not self._publish(command, buf, i, i + length):
                break  # not all here yet, or malformed: paho will say so
            pos = i + length
        if pos:
            del buf[:pos]
            self._last_bytes_received = time.monotonic()  # paho's keepalive clock

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        """A PUBLISH that paho read itself: the same decoding, the same hand-over."""
        packet = self._in_packet["packet"]
        ok = self._publish(self._in_packet["command"], packet, 0, len(packet))
        return mqtt.MQTT_ERR_SUCCESS if ok else mqtt.MQTT_ERR_PROTOCOL

    def _publish(self, command: int, data: bytearray, start: int, end: int) -> bool:
        """Hand the PUBLISH whose body is data[start:end] to on_receive and note its PUBACK; False if malformed."""
        qos = (command >> 1) & 3
        if qos > 1 or end - start < 2:
            return False
        topic_end = start + 2 + (data[start] << 8 | data[start + 1])
        body = topic_end + 2 * qos
        if body > end:
            return False
        # Mosquitto passes only valid UTF-8 topics; should another not, the collector rejects the topic.
        self.on_receive(data[start + 2:topic_end].decode(errors="replace"), bytes(data[body:end]))
        if qos:
            self._acks += bytes((PUBACK, 2, data[topic_end], data[topic_end + 1]))
        return True

    def loop(self, timeout: float = 1.0) -> mqtt.MQTTErrorCode:
        if timeout < 0.0:
            raise ValueError("Invalid timeout.")
        return self._loop(timeout)
