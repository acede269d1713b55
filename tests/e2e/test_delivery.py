"""A rating travels from kiosk to report through a real broker; nothing lost, nothing twice."""
from __future__ import annotations

import random
import signal
import threading
import time

import pytest

from device.runtime import KioskRuntime
from shared.contract import DEFAULT_LABELS, Config

from ..helpers import (
    ServerProcess,
    flood_allowed,
    kiosk_settings,
    outbox_rows,
    query,
    rate,
    wait_for,
    write_kiosk_config,
)


@pytest.fixture
def kiosks(tmp_path):
    made: list[KioskRuntime] = []

    def make(broker_url: str, name: str, window: str, scale: int = 5) -> KioskRuntime:
        runtime = KioskRuntime(kiosk_settings(tmp_path / name, broker_url, name, window))
        runtime.kiosk.apply_config(Config(title=window, scale=scale, labels=DEFAULT_LABELS[scale]))
        runtime.start()
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.stop()


def all_acked(runtimes) -> bool:
    return all(r.outbox.count() == 0 for r in runtimes)


def test_200_ratings_from_3_kiosks_reach_the_summary(tmp_path, broker, kiosks):
    server = ServerProcess(flood_allowed(tmp_path / "ceval.sqlite3"), broker.url).start()
    try:
        token = server.token()
        rng = random.Random(7)
        runtimes = {("k1", "w01", 5): None, ("k2", "w02", 4): None, ("k3", "w03", 3): None}
        given: dict[str, list[tuple[int, int]]] = {}
        for (name, window, scale) in runtimes:
            runtimes[(name, window, scale)] = kiosks(broker.url, name, window, scale)
            given[window] = []
        order = [key for key in runtimes for _ in range(67)][:200]
        rng.shuffle(order)
        for name, window, scale in order:
            score = rng.randint(1, scale)
            rate(runtimes[(name, window, scale)], score, ["slow"])
            given[window].append((scale, score))
        wait_for(lambda: all_acked(runtimes.values()), 30, "every rating to be acknowledged")

        assert sum(len(v) for v in given.values()) == 200
        for window, ratings in given.items():
            status, body = server.get(f"/api/v1/windows/{window}/summary", token)
            assert status == 200, body
            scale = ratings[0][0]
            expected_by_score = {str(s): sum(1 for _, score in ratings if score == s) for s in range(1, scale + 1)}
            satisfied = {5: {4, 5}, 4: {3, 4}, 3: {3}}[scale]
            assert body["ratings"]["total"] == len(ratings)
            assert body["ratings"]["by_score"] == expected_by_score
            assert body["ratings"]["satisfied_rate"] == round(
                sum(1 for _, s in ratings if s in satisfied) / len(ratings), 3)
            assert body["ratings"]["index"] == round(
                sum((s - 1) / (scale - 1) * 100 for _, s in ratings) / len(ratings), 1)
        assert query(server.db, "SELECT count(*), count(DISTINCT event_id) FROM ratings") == [(200, 200)]
        low_with_reason = query(server.db, "SELECT count(*) FROM ratings WHERE reasons = '[\"slow\"]'")[0][0]
        assert low_with_reason == sum(1 for r in given.values() for scale, s in r if (s <= 2 if scale == 5 else s == 1))
    finally:
        server.stop()


def _rate_until(runtimes, stop: threading.Event, given: list[str]) -> None:
    rng = random.Random(3)
    while not stop.is_set():
        runtime = rng.choice(runtimes)
        given.append(rate(runtime, rng.randint(1, 5)))
        stop.wait(0.01)


def _assert_exactly_once(db, given: list[str]) -> None:
    stored = [row[0] for row in query(db, "SELECT event_id FROM ratings")]
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(given)


@pytest.mark.slow
def test_broker_killed_for_10_seconds_loses_nothing(tmp_path, own_broker, kiosks):
    server = ServerProcess(flood_allowed(tmp_path / "ceval.sqlite3"), own_broker.url).start()
    runtimes = [kiosks(own_broker.url, f"k{i}", f"w0{i}") for i in (1, 2, 3)]
    given: list[str] = []
    stop = threading.Event()
    rater = threading.Thread(target=_rate_until, args=(runtimes, stop, given))
    try:
        rater.start()
        wait_for(lambda: len(given) >= 30, 10, "ratings before the outage")
        own_broker.kill()
        outage_start = len(given)
        wait_for(lambda: not any(r.publisher.connected for r in runtimes), 10, "kiosks to notice the outage")
        time.sleep(10)  # the scenario: the broker stays away for 10 s while customers keep rating
        assert len(given) > outage_start + 50, "kiosks kept rating while the broker was away"
        own_broker.start()
        wait_for(lambda: len(given) >= outage_start + 100 + 30, 20, "ratings after the outage")
        stop.set()
        rater.join()
        wait_for(lambda: all_acked(runtimes), 60, "every rating to be acknowledged")
        _assert_exactly_once(server.db, given)
    finally:
        stop.set()
        server.stop()


def test_collector_killed_mid_stream_loses_nothing(tmp_path, broker, kiosks):
    db = tmp_path / "ceval.sqlite3"
    server = ServerProcess(flood_allowed(db), broker.url).start()
    runtimes = [kiosks(broker.url, f"c{i}", f"w1{i}") for i in (1, 2, 3)]
    given: list[str] = []
    stop = threading.Event()
    rater = threading.Thread(target=_rate_until, args=(runtimes, stop, given))
    try:
        rater.start()
        wait_for(lambda: query(db, "SELECT count(*) FROM ratings")[0][0] >= 50, 20, "ratings stored")
        server.kill()
        killed_at = len(given)
        wait_for(lambda: len(given) >= killed_at + 50, 20, "ratings while the collector is down")
        server.start()
        wait_for(lambda: len(given) >= killed_at + 100, 20, "ratings after the restart")
        stop.set()
        rater.join()
        wait_for(lambda: all_acked(runtimes), 60, "every rating to be acknowledged")
        _assert_exactly_once(db, given)
    finally:
        stop.set()
        server.stop()


def test_kiosk_killed_right_after_thanking_delivers_that_rating(tmp_path, broker):
    import subprocess
    import sys

    from ..helpers import ROOT

    db = tmp_path / "ceval.sqlite3"
    server = ServerProcess(flood_allowed(db), broker.url).start()
    conf = write_kiosk_config(tmp_path / "kiosk" / "kiosk.toml", broker.url, "kk1", "w21")
    command = [sys.executable, "-m", "ceval.main", "kiosk", "--config", str(conf), "--headless"]
    kiosk = subprocess.Popen([*command, "--simulate", "--pace", "400"], cwd=ROOT)
    try:
        wait_for(lambda: query(db, "SELECT count(*) FROM ratings")[0][0] >= 5, 20, "the kiosk's first ratings")
        server.signal(signal.SIGSTOP)  # the collector freezes: nothing more is acknowledged
        wait_for(lambda: any(b'"rating"' in p for _, p in outbox_rows(conf.parent)), 10, "an unacknowledged rating")
        kiosk.send_signal(signal.SIGKILL)
        kiosk.wait(10)
        unacked = [p for _, p in outbox_rows(conf.parent) if b'"type":"rating"' in p]
        assert unacked, "the killed kiosk held thanked ratings the server had not acknowledged"
        server.signal(signal.SIGCONT)
        wait_for(lambda: query(db, "SELECT online FROM devices WHERE device = 'kk1'") == [(0,)], 10,
                 "the broker's Last Will to mark the killed kiosk offline")
        kiosk = subprocess.Popen(command, cwd=ROOT)
        wait_for(lambda: not outbox_rows(conf.parent), 30, "the restarted kiosk to deliver its outbox")
        import json

        ids = [json.loads(p)["id"] for p in unacked]
        stored = query(db, f"SELECT event_id FROM ratings WHERE event_id IN ({','.join('?' * len(ids))})", ids)
        assert len(stored) == len(ids)
        stream = json.loads(unacked[0])["stream"]
        seqs = [row[0] for row in query(db, "SELECT seq FROM events WHERE stream = ? ORDER BY seq", (stream,))]
        assert seqs == list(range(1, len(seqs) + 1)), "every event of the stream, once, none missing"
        wait_for(lambda: query(db, "SELECT online FROM devices WHERE device = 'kk1'") == [(1,)], 10,
                 "the restarted kiosk's retained status")
    finally:
        kiosk.kill()
        server.stop()


def test_ratings_queued_in_a_broker_that_dies_are_sent_again(tmp_path, own_broker, kiosks):
    """The broker took the ratings (PUBACK) for a collector that was down, then died before saving
    them: only the kiosks' outboxes still hold them, and they send them again."""
    db = tmp_path / "ceval.sqlite3"
    server = ServerProcess(flood_allowed(db), own_broker.url).start()
    runtimes = [kiosks(own_broker.url, f"q{i}", f"w3{i}") for i in (1, 2)]
    try:
        before = [rate(runtimes[i % 2], 5) for i in range(10)]
        wait_for(lambda: all_acked(runtimes), 20, "the first ratings to be acknowledged")
        server.kill()
        queued = [rate(runtimes[i % 2], 4) for i in range(20)]
        wait_for(lambda: len(query(db, "SELECT 1 FROM ratings")) == 10 and
                 all(r.publisher.connected for r in runtimes), 5, "the kiosks to stay connected")
        own_broker.kill()
        own_broker.start()
        server.start()
        wait_for(lambda: all_acked(runtimes), 30, "every rating to be acknowledged")
        _assert_exactly_once(db, before + queued)
    finally:
        server.stop()
