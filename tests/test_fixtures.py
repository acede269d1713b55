"""The shared fixtures' own promises: what the suite's isolation rests on."""
from __future__ import annotations

from .helpers import clear_retained, connected_client, retained_topics

TOPICS = {"ceval/v1/k1/status", "ceval/v1/k1/config", "other/retained"}


def test_clear_retained_leaves_no_retained_message_on_the_broker(own_broker):
    with connected_client(own_broker) as publisher:
        for name in TOPICS:
            publisher.publish(name, b'{"v": 1}', qos=1, retain=True).wait_for_publish(10)
    assert set(retained_topics(own_broker)) == TOPICS
    clear_retained(own_broker)
    assert retained_topics(own_broker) == []
