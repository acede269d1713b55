"""An MQTT client for the tests that records what arrives on a topic and can answer with acks."""
from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt


class Listener:
    """A client that records what arrives on a topic and can answer with acks."""

    def __init__(self, broker, topic: str):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.messages.append((message.topic, message.payload, message.retain))

    def seqs(self) -> list[int]:
        with self.lock:
            return [json.loads(p)["seq"] for t, p, _ in self.messages if t.endswith("/event")]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()
