"""The shared fixtures' own promises: what the suite's isolation rests on."""
from __future__ import annotations

import paho.mqtt.client as mqtt

from .helpers import clear_retained, retained_topics

TOPICS = {"ceval/v1/k1/status", "ceval/v1/k1/config", "other/retained"}


def test_clear_retained_leaves_no_retained_message_on_the_broker(own_broker):
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    publisher.connect(own_broker.host, own_broker.port)
    publisher.loop_start()
    try:
        for name in TOPICS:
            publisher.publish(name, b'{"v": 1}', qos=1, retain=True).wait_for_publish(10)
        publisher.publish("not/retained", b"-", qos=1).wait_for_publish(10)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    assert set(retained_topics(own_broker)) == TOPICS
    clear_retained(own_broker)
    assert retained_topics(own_broker) == []
