"""A second `ceval server` cannot disturb a running one: it fails in one line before it touches the broker
when the web port is taken, and refuses to take over a live collector session unless asked (--take-over)."""
from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest

from ceval.demo.broker import free_port

from ..helpers import ServerProcess, ceval, connected_client, query, wait_for
from ..server.events import event


def _send(broker, device: str, body: dict) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{device}-sender", protocol=mqtt.MQTTv311)
    with connected_client(broker, client):
        client.publish(f"ceval/v1/{device}/event", json.dumps(body), qos=1).wait_for_publish(10)


def _still_ingesting(first: ServerProcess, broker, n: int) -> None:
    _send(broker, "k-second", event(n, stream="second-stream", window="w77", ts="2026-11-23T09:00:00.000+08:00"))
    wait_for(lambda: query(first.db, "SELECT count(*) FROM events WHERE stream = 'second-stream'") == [(n,)], 15,
             f"the first server to store event {n}")


def test_a_second_server_leaves_the_running_one_alone(tmp_path, broker):
    first = ServerProcess(tmp_path / "first.sqlite3", broker.url).start()
    client_id = f"collector-{first.port}"
    try:
        _still_ingesting(first, broker, 1)

        # the same web port: one line, status 2, before any broker connection (else it would log one)
        taken = ceval("server", "--db", str(tmp_path / "second.sqlite3"), "--broker", broker.url,
                      "--listen", f"127.0.0.1:{first.port}", "--client-id", client_id, timeout=60)
        assert taken.returncode == 2, taken.stderr
        assert taken.stderr.count("\n") == 1 and "Traceback" not in taken.stderr
        assert f"cannot listen on 127.0.0.1:{first.port}" in taken.stderr and "--listen" in taken.stderr
        assert "collector connected" not in taken.stderr

        # another web port, the same collector client id: the live session is not taken over
        refused = ceval("server", "--db", str(tmp_path / "second.sqlite3"), "--broker", broker.url,
                        "--listen", f"127.0.0.1:{free_port()}", "--client-id", client_id, timeout=60)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert f"a collector with client id {client_id} is connected" in refused.stderr
        assert "--take-over" in refused.stderr

        # the same database, even with --take-over: the lock beside it says who holds it
        locked = ceval("server", "--db", str(first.db), "--broker", broker.url, "--listen",
                       f"127.0.0.1:{free_port()}", "--client-id", "another-collector", "--take-over", timeout=60)
        assert locked.returncode == 2 and "is collecting into this database" in locked.stderr, locked.stderr

        _still_ingesting(first, broker, 2)
        assert "collector connected" in first.log.read_text()
        assert first.log.read_text().count("collector connected") == 1, "the first collector was never knocked off"
    finally:
        first.stop()


@pytest.mark.slow
def test_take_over_connects_and_a_stale_presence_does_not_block(tmp_path, broker):
    """--take-over replaces a live collector; a presence left behind by a collector that is gone (it answers
    no ping) does not stop the next server."""
    first = ServerProcess(tmp_path / "first.sqlite3", broker.url).start()
    client_id = f"collector-{first.port}"
    stale = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"stale-{first.port}", protocol=mqtt.MQTTv311)
    with connected_client(broker, stale):
        try:
            second = ServerProcess(tmp_path / "second.sqlite3", broker.url, "--client-id", client_id, "--take-over")
            second.start()  # it waits for "collector connected"
            second.stop()
            first.stop()
            # a presence nobody answers for, as after a power cut of broker and server together
            stale.publish(f"ceval/collector/{client_id}", b'{"pid": 1, "host": "gone"}', qos=1,
                          retain=True).wait_for_publish(10)
            third = ServerProcess(tmp_path / "third.sqlite3", broker.url, "--client-id", client_id).start()
            third.stop()
            assert "did not answer a ping" in third.log.read_text()
        finally:
            stale.publish(f"ceval/collector/{client_id}", b"", qos=1, retain=True).wait_for_publish(10)
            first.stop()
