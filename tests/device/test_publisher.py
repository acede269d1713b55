"""The kiosk's publisher against the session's real Mosquitto, with an injected clock."""
from __future__ import annotations

import json

import pytest

from device.outbox import Outbox
from device.publisher import Publisher
from shared.contract import Ack, Status

from ..helpers import append_rating as append
from ..helpers import wait_for
from ..listener import Listener


def make(tmp_path, broker, clock, device):
    outbox = Outbox(tmp_path / f"{device}.sqlite3")
    publisher = Publisher(device, broker.url, outbox, lambda: Status(online=True, window="w01", outbox=outbox.count()),
                          ack_timeout=1.0, clock=clock)
    return outbox, publisher


def test_unacknowledged_events_go_again_less_and_less_often(tmp_path, broker, clock):
    listener = Listener(broker, "ceval/v1/pub-backoff/#")
    outbox, publisher = make(tmp_path, broker, clock, "pub-backoff")
    publisher.start()
    try:
        wait_for(lambda: publisher.connected, 10, "the publisher to connect")
        append(outbox)
        publisher.wake()
        wait_for(lambda: listener.seqs() == [1], 10, "the first send")
        clock.advance(1.0)
        wait_for(lambda: listener.seqs() == [1, 1], 10, "the send after the ack timeout")
        assert publisher._resend_after == 2.0, "the wait doubles while no ack comes"
        clock.advance(1.5)
        with pytest.raises(AssertionError):
            wait_for(lambda: len(listener.seqs()) > 2, 0.5, "no send before the doubled wait is over")
        clock.advance(0.5)
        wait_for(lambda: listener.seqs() == [1, 1, 1], 10, "the send after the doubled wait")
        # an ack deletes the row and brings the wait back to the ack timeout
        ack = Ack(outbox.stream, 1).to_json()
        listener.client.publish("ceval/v1/pub-backoff/ack", ack, qos=1)
        wait_for(lambda: outbox.count() == 0, 10, "the ack to delete the row")
        assert publisher._resend_after == 1.0
    finally:
        publisher.stop()
        listener.close()


def test_status_is_retained_with_a_will_and_a_clean_offline(tmp_path, broker, clock):
    outbox, publisher = make(tmp_path, broker, clock, "pub-status")
    early = Listener(broker, "ceval/v1/pub-status/status")
    publisher.start()
    wait_for(lambda: early.messages, 10, "the status, once connected")
    early.close()
    late = Listener(broker, "ceval/v1/pub-status/status")  # subscribes after: sees the retained one
    try:
        wait_for(lambda: late.messages, 10, "the retained status")
        topic, payload, retained = late.messages[0]
        assert retained and json.loads(payload)["online"] is True
        publisher.stop()
        wait_for(lambda: any(json.loads(p) == {"v": 1, "online": False} for _, p, _ in late.messages), 10,
                 "the clean offline status")
    finally:
        late.close()


def test_an_ack_for_another_stream_deletes_nothing(tmp_path, broker, clock):
    outbox, publisher = make(tmp_path, broker, clock, "pub-other")
    listener = Listener(broker, "ceval/v1/pub-other/event")
    publisher.start()
    try:
        wait_for(lambda: publisher.connected, 10, "the publisher to connect")
        append(outbox)
        append(outbox)
        publisher.wake()
        wait_for(lambda: listener.seqs() == [1, 2], 10, "the sends")
        for payload in (Ack("another-stream-0", 5).to_json(), b"not json", Ack(outbox.stream, 1).to_json()):
            listener.client.publish("ceval/v1/pub-other/ack", payload, qos=1)  # delivered in this order
        wait_for(lambda: outbox.count() == 1, 10, "the ack of our stream to delete seq 1")
        assert [seq for seq, _ in outbox.pending()] == [2], "the other stream's ack deleted nothing"
        assert publisher.connected
    finally:
        publisher.stop()
        listener.close()


def test_the_ack_timeout_counts_from_the_last_ack_that_deleted_events(tmp_path, broker, clock):
    """A server working through a backlog acks part of what is in flight: the rest is not sent again until an
    ack timeout passes without any ack deleting events."""
    listener = Listener(broker, "ceval/v1/pub-progress/event")
    outbox, publisher = make(tmp_path, broker, clock, "pub-progress")
    publisher.start()
    try:
        wait_for(lambda: publisher.connected, 10, "the publisher to connect")
        for _ in range(3):
            append(outbox)
        publisher.wake()
        wait_for(lambda: listener.seqs() == [1, 2, 3], 10, "the first sends")
        clock.advance(0.9)
        listener.client.publish("ceval/v1/pub-progress/ack", Ack(outbox.stream, 1).to_json(), qos=1)
        wait_for(lambda: outbox.count() == 2, 10, "the ack to delete seq 1")
        clock.advance(0.6)  # 1.5 s after 2 and 3 were sent, 0.6 s after the ack: they are on their way
        with pytest.raises(AssertionError):
            wait_for(lambda: len(listener.seqs()) > 3, 0.5, "no send within the ack timeout of the last ack")
        clock.advance(0.4)  # an ack timeout without an ack: sent again
        wait_for(lambda: listener.seqs() == [1, 2, 3, 2, 3], 10, "seqs 2 and 3 sent again")
    finally:
        publisher.stop()
        listener.close()
