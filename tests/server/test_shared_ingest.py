"""Two collectors of a group on one database (server/domain/collector_group.py): a stream's events land on either,
in any order, and each may get a copy the other stored. Stored once, acknowledged to the stream's contiguous
end, no gap declared for what the other member holds, absences paired in the stream's order: the same rows as
one collector that saw every event in order."""
from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest

from server.domain.collector_group import check_size, member_name, quota_share, shared_filters
from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.contract import Ack

from .events import STREAM, event, msg

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in the hall
STATES = {5: "away", 9: "present", 17: "away", 18: "present", 30: "away", 36: "present"}


@pytest.fixture
def clock_start():
    return NOW


def stream_events(n: int = 40, stream: str = STREAM, device: str = "k1", window: str = "w01") -> list:
    """Ratings, with the clerk away and back at the seqs of STATES, a minute apart."""
    out = []
    for seq in range(1, n + 1):
        ts = f"2026-11-23T{8 + seq // 60:02d}:{seq % 60:02d}:00.000+08:00"
        if seq in STATES:
            out.append(msg(event(seq, type="presence", state=STATES[seq], staff="1024", ts=ts, stream=stream,
                                 window=window), device))
        else:
            out.append(msg(event(seq, ts=ts, stream=stream, window=window, score=1 + seq % 5), device))
    return out


def facts(store: Store) -> dict:
    def rows(sql):
        return store.db.execute(sql).fetchall()
    return {"events": rows("SELECT stream, seq, id FROM events ORDER BY stream, seq"),
            "ratings": rows("SELECT window, score, at FROM ratings ORDER BY window, at"),
            "absences": rows("SELECT window, staff, start_at, end_at FROM absences ORDER BY window, start_at"),
            "streams": rows("SELECT stream, upto_seq, gap_since FROM streams ORDER BY stream"),
            "gaps": rows("SELECT * FROM gaps"), "rejects": rows("SELECT reason FROM rejects")}


def reference(tmp_path, clock, messages) -> dict:
    """What one collector makes of the same messages, in order."""
    store = Store(open_db(tmp_path / "one.sqlite3"))
    try:
        Ingestor(store, clock).handle(messages)
        return facts(store)
    finally:
        store.db.close()


def test_a_stream_split_over_two_members_out_of_order_is_stored_as_by_one(tmp_path, store, database, clock):
    messages = stream_events()
    other = Store(open_db(database))  # the second member: a connection of its own, as a process of its own has
    try:
        a, b = Ingestor(store, clock, members=2), Ingestor(other, clock, members=2)
        even, odd = messages[1::2], messages[0::2]  # the broker hands them out in turn
        acks = []
        acks += b.handle(even[10:]).acks   # the second member is ahead: seqs 22, 24, ... before anything
        acks += a.handle(odd[:12]).acks    # 1, 3, ..., 23
        acks += b.handle(even[:10] + [messages[0], messages[4]]).acks  # 2, ..., 20 and copies of 1 and 5
        acks += a.handle(odd[12:] + [messages[21]]).acks  # 25, ..., 39 and a copy of 22
        assert [ack for _, ack in acks] == [Ack(STREAM, 0), Ack(STREAM, 1), Ack(STREAM, 24), Ack(STREAM, 40)]
        assert facts(store) == reference(tmp_path, clock, messages)
        assert facts(store)["gaps"] == [] and facts(store)["rejects"] == []
        assert len(facts(store)["absences"]) == 3
    finally:
        other.db.close()


def test_two_members_storing_at_once_store_every_event_once(tmp_path, store, database, clock):
    """Two threads, each with its own connection, race on the same streams, with copies on both sides: SQLite's
    write lock orders their batches and the store, not the member, knows what is in."""
    streams = [stream_events(60, stream=f"stream-{k:04d}", device=f"k{k}", window=f"w0{k}") for k in range(1, 5)]
    everything = [m for s in streams for m in s]
    rng = random.Random(7)
    shares: list[list] = [[], []]
    for message in everything:
        shares[rng.randrange(2)].append(message)
        if rng.random() < 0.1:  # a resend that the broker gave to the other member
            shares[rng.randrange(2)].append(message)
    for share in shares:
        rng.shuffle(share)
    last_ack: dict[str, int] = {}
    lock = threading.Lock()

    def member(share):
        own = Store(open_db(database))
        try:
            ingestor = Ingestor(own, clock, members=2)
            for start in range(0, len(share), 25):
                for _, ack in ingestor.handle(share[start:start + 25]).acks:
                    with lock:
                        last_ack[ack.stream] = max(last_ack.get(ack.stream, 0), ack.upto_seq)
        finally:
            own.db.close()

    threads = [threading.Thread(target=member, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert last_ack == {f"stream-{k:04d}": 60 for k in range(1, 5)}, "every stream acknowledged to its last seq"
    stored = facts(store)
    one = reference(tmp_path, clock, everything)
    assert stored["events"] == one["events"] and len(stored["events"]) == 240
    assert stored["ratings"] == one["ratings"] and stored["absences"] == one["absences"]
    assert stored["gaps"] == [] and stored["rejects"] == []


def test_each_member_holds_a_device_to_its_share_of_the_quota(store, database, clock):
    store.settings.set_device_rate(10)
    other = Store(open_db(database))
    try:
        a, b = Ingestor(store, clock, members=2), Ingestor(other, clock, members=2)
        flood = [msg(event(seq, ts="2026-11-23T09:00:00.000+08:00")) for seq in range(1, 13)]
        stored = a.handle(flood[0::2]).stored + b.handle(flood[1::2]).stored
        assert stored == 10, "together the two members let 10 of the 12 events of one minute in, as one would"
        reasons = [r for (r,) in store.db.execute("SELECT reason FROM rejects").fetchall()]
        assert len(reasons) == 2 and all(r.startswith("rate: device k1 sent more than 10 events") for r in reasons)
    finally:
        other.db.close()


def test_the_group_rules():
    assert [member_name("ceval-collector", k) for k in (1, 2, 8)] == [
        "ceval-collector", "ceval-collector-2", "ceval-collector-8"]
    with pytest.raises(ValueError):
        member_name("ceval-collector", 9)
    assert shared_filters() == ["$share/ceval/ceval/v1/+/event", "$share/ceval/ceval/v1/+/status"]
    assert [quota_share(120, n) for n in (1, 2, 3, 8)] == [120, 60, 40, 15]
    assert quota_share(1, 4) == 1
    assert [check_size(n) for n in (1, 8)] == [1, 8]
    for bad in (0, 9):
        with pytest.raises(ValueError, match="from 1 to 8"):
            check_size(bad)
