"""Collectors sharing the load (issue 15): `ceval server --strict --collectors 2` on the shipped Mosquitto, each
member a process of its own with its own broker account, four real kiosks (outbox, publisher, resend until
acknowledged) sending ratings and the clerk's away sign. One member is SIGKILLed mid-stream (member 1, which
also pushes the kiosks' configs); the other carries on and the server starts the killed one again. Every event is stored once, every stream acknowledged to its last seq (every outbox
empties), and the absences are the ones the kiosks' signs made, as with one collector."""
from __future__ import annotations

import os
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from device.runtime import KioskRuntime
from device.settings import load_settings
from server.ingest.members import retire
from shared.broker_url import parse_broker_url
from shared.timefmt import format_ts, to_ms

from ..helpers import ServerProcess, connected_client, flood_allowed, query, wait_for

KIOSKS = {"k-a": "w-a", "k-b": "w-b", "k-c": "w-c", "k-d": "w-d"}
EVENTS = 400  # per kiosk
AWAY = {40: 55, 120: 180, 300: 301, 390: 399}  # seq of the sign going out -> seq of it coming back
STEP_MS = 100


def fill(runtime: KioskRuntime, start: datetime) -> list[tuple[int, int]]:
    """EVENTS events committed to the kiosk's outbox, ratings and the sign out and back; returns the absences
    (start, end in epoch ms) they make."""
    window, absences = runtime.settings.window, []
    back = {v: k for k, v in AWAY.items()}
    for seq in range(1, EVENTS + 1):
        at = start + timedelta(milliseconds=seq * STEP_MS)
        if seq in AWAY or seq in back:
            runtime.outbox.append(ts=format_ts(at), window=window, type="presence", staff="1024",
                                  state="away" if seq in AWAY else "present")
            if seq in back:
                absences.append((to_ms(start + timedelta(milliseconds=back[seq] * STEP_MS)), to_ms(at)))
        else:
            runtime.outbox.append(ts=format_ts(at), window=window, type="rating", staff="1024",
                                  score=seq % 5 + 1, scale=5, reasons=())
    return absences


def members(pid: int) -> dict[int, int]:
    """Member number -> pid of the live collector processes `pid` started (whichever of its threads did)."""
    found = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if fields[1] == str(pid) and fields[0] != "Z" and b"--member" in argv:
            found[int(argv[argv.index(b"--member") + 1])] = int(entry)
    return found


def test_two_collectors_one_killed_mid_stream_store_every_event_once(hall):
    for device, window in KIOSKS.items():
        if device not in hall.kiosk_configs:
            hall.add_device(device, window)
    hall.broker.reload()  # the accounts of the kiosks just added
    flood_allowed(hall.db)  # these kiosks send hundreds of events a minute
    server = ServerProcess(hall.db, hall.url, "--strict", "--collectors", "2", env=hall.collector_env()).start()
    runtimes = []
    try:
        wait_for(lambda: len(members(server.process.pid)) == 2, 15, "both collectors to start")
        killed = members(server.process.pid)[1]
        wait_for(lambda: server.log.read_text().count("collector connected") == 2, 15, "both collectors to connect")
        start = datetime.now(UTC) - timedelta(minutes=2)
        expected = {}
        for device, window in KIOSKS.items():
            settings = replace(load_settings(hall.kiosk_configs[device]), ack_timeout=1.0)
            runtime = KioskRuntime(settings)
            expected[window] = fill(runtime, start)
            runtimes.append(runtime)
        for runtime in runtimes:
            runtime.publisher.start()

        total = EVENTS * len(KIOSKS)
        wait_for(lambda: query(hall.db, "SELECT count(*) FROM events")[0][0] >= total // 4, 30,
                 "a quarter of the events stored")
        other = members(server.process.pid)[2]
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: members(server.process.pid).get(1, killed) != killed, 15, "member 1 started again")
        wait_for(lambda: all(r.outbox.count() == 0 for r in runtimes), 90, "every event acknowledged")

        assert "collector member 1 ended" in server.log.read_text()
        assert members(server.process.pid)[2] == other, "the other member carried on"
        assert query(hall.db, "SELECT count(*) FROM devices WHERE config_sent IS NOT NULL") == [(len(KIOSKS),)], \
            "member 1 keeps the kiosks' configs"
        assert query(hall.db, "SELECT count(*), count(DISTINCT id), count(DISTINCT stream || '/' || seq) "
                              "FROM events") == [(total, total, total)]
        streams = query(hall.db, "SELECT device, upto_seq FROM streams ORDER BY device")
        assert streams == [(device, EVENTS) for device in sorted(KIOSKS)]
        assert query(hall.db, "SELECT count(*) FROM gaps") == [(0,)]
        assert query(hall.db, "SELECT count(*) FROM rejects") == [(0,)]
        for window, absences in expected.items():
            stored = query(hall.db, "SELECT start_at, end_at FROM absences WHERE window = ? ORDER BY start_at",
                           (window,))
            assert stored == absences, window
        assert query(hall.db, "SELECT count(*) FROM ratings") == [(total - 2 * len(AWAY) * len(KIOSKS),)]
    finally:
        for runtime in runtimes:
            runtime.stop()
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and "Fatal Python error" not in log, log[-3000:]


def _session_present(broker, client_id: str) -> bool:
    """Connect as `client_id` keeping any session it has (MQTT 5), say whether the broker had one, leave it."""

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    answer = {}
    client.on_connect = lambda c, u, flags, rc, p: answer.setdefault("present", flags.session_present)
    client.on_subscribe = lambda c, u, mid, codes, p: answer.setdefault("subscribed", True)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    with connected_client(broker, client, clean_start=False, properties=properties):
        wait_for(lambda: "present" in answer, 10, f"the CONNACK of {client_id}")
        if not answer["present"]:
            client.subscribe("$share/ceval/ceval/v1/+/event", qos=1)
            wait_for(lambda: "subscribed" in answer, 10, f"the SUBACK of {client_id}")
    return answer["present"]


def test_members_of_a_larger_group_are_retired_when_the_server_starts(broker):
    """A group of 3 before, 2 now: member 3's session, which the broker would keep filling with its share of
    the kiosks' messages, is ended; members 1 and 2 keep theirs."""
    base = f"retire-{os.getpid()}"
    for k in ("", "-2", "-3"):
        _session_present(broker, base + k)  # each now has a session, subscribed to the group
    assert _session_present(broker, base + "-3")
    ended = retire(parse_broker_url(broker.url), base, 2, None, None)
    assert f"{base}-3" in ended and base not in ended and f"{base}-2" not in ended
    assert not _session_present(broker, base + "-3")
    assert _session_present(broker, base + "-2") and _session_present(broker, base)
