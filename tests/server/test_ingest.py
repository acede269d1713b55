"""The collector's handler, fed hand-built messages, on a real SQLite file."""
from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import pytest

from server.ingest.ingestor import Ingestor, Message
from server.store import Store
from server.store.db import open_db
from shared.contract import Ack
from shared.timefmt import to_ms

from ..helpers import query_plan, traced
from .events import STREAM, event, msg

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in the hall


@pytest.fixture
def clock_start():
    return NOW


@pytest.fixture
def ingest(store, clock):
    return Ingestor(store, clock)


def rows(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


def test_the_same_event_five_times_is_stored_once(ingest, store):
    for _ in range(5):
        result = ingest.handle([msg(event(1))])
        assert result.acks == [("k1", Ack(STREAM, 1))]
    assert rows(store, "SELECT count(*) FROM events") == [(1,)]
    assert rows(store, "SELECT count(*) FROM ratings") == [(1,)]
    result = ingest.handle([msg(event(1))] * 5)
    assert (result.stored, result.duplicates) == (0, 5)


BAD = [
    (msg(b"{not json"), "not JSON"),
    (msg(b"\xff\xfe"), "not UTF-8"),
    (msg({k: v for k, v in event(2).items() if k != "ts"}), "ts"),
    (msg(event(3, score="5")), "score"),
    (msg(event(4, score=6)), "score"),
    (msg(event(5, type="complaint")), "unknown event type"),
    (msg(event(6, type="feedback", text="x" * 4100)), "bytes"),
    (msg(event(7, window="W 7")), "window"),
    (Message("ceval/v1/k1/evnt", b"{}"), "unknown kind"),
    (Message("ceval/v2/k1/event", b"{}"), "outside the contract"),
    (Message("other/thing", b"{}"), "outside the contract"),
    (Message("ceval/v1/K_1/event", b"{}"), "bad device"),
]


def test_malformed_messages_are_rejected_counted_and_do_not_block(ingest, store):
    result = ingest.handle([msg(event(1)), *[m for m, _ in BAD], msg(event(8))])
    assert (result.stored, result.rejected) == (2, len(BAD))
    reasons = [r[0] for r in rows(store, "SELECT reason FROM rejects ORDER BY id")]
    for (_, expected), reason in zip(BAD, reasons):
        assert expected in reason
    assert rows(store, "SELECT device, count(*) FROM rejects WHERE device IS NOT NULL GROUP BY device") == [("k1", 9)]
    assert rows(store, "SELECT rejected FROM devices WHERE device = 'k1'") == [(9,)]
    # seq 2..7 were rejected but named their stream: the ack passes them (one bad message never blocks)
    assert result.acks == [("k1", Ack(STREAM, 8))]
    assert rows(store, "SELECT seq FROM events ORDER BY seq") == [(1,), (8,)]


def test_ack_is_the_highest_contiguous_seq(ingest):
    assert ingest.handle([msg(event(1)), msg(event(2)), msg(event(4))]).acks == [("k1", Ack(STREAM, 2))]
    assert ingest.handle([msg(event(5))]).acks == [("k1", Ack(STREAM, 2))]
    assert ingest.handle([msg(event(3))]).acks == [("k1", Ack(STREAM, 5))]


def test_a_gap_that_never_fills_is_declared_lost_after_the_timeout(ingest, store, clock):
    ingest.handle([msg(event(1)), msg(event(4))])
    clock.advance(599)
    assert ingest.handle([msg(event(5))]).acks == [("k1", Ack(STREAM, 1))]
    assert rows(store, "SELECT gap_since FROM streams") == [(to_ms(NOW),)]
    clock.advance(2)
    assert ingest.handle([msg(event(5))]).acks == [("k1", Ack(STREAM, 5))]
    assert rows(store, "SELECT from_seq, to_seq FROM gaps") == [(2, 3)]
    assert rows(store, "SELECT gap_since FROM streams") == [(None,)]


def test_a_seq_used_again_by_another_event_is_rejected(ingest, store):
    ingest.handle([msg(event(1))])
    result = ingest.handle([msg(event(1, id="another-event-id"))])
    assert result.rejected == 1
    assert "already belongs" in rows(store, "SELECT reason FROM rejects")[0][0]
    assert rows(store, "SELECT id FROM events") == [(f"{STREAM}-000001",)]


def test_a_stream_belongs_to_the_device_that_first_used_it(ingest, store):
    ingest.handle([msg(event(1), device="k1")])
    result = ingest.handle([msg(event(2), device="k2")])
    assert result.rejected == 1 and result.acks == []
    assert rows(store, "SELECT count(*) FROM events") == [(1,)]


@pytest.mark.parametrize("ts, retimed", [
    ("2026-11-23T09:36:00.000+08:00", True),    # 6 minutes ahead of the receive time
    ("2026-11-23T09:34:00.000+08:00", False),   # 4 minutes ahead: a clock a little fast
    ("2023-12-31T23:59:59.000+08:00", True),    # before 2024: an unsynchronised Pi
    ("1970-01-01T00:00:10.000Z", True),
    ("2026-11-20T15:00:00.000+08:00", False),   # queued offline for days: keeps its own time
])
def test_implausible_times_are_retimed_and_flagged(ingest, store, ts, retimed):
    ingest.handle([msg(event(1, ts=ts))])
    [(at, flag, kept_ts)] = rows(store, "SELECT at, retimed, ts FROM events")
    assert kept_ts == ts
    assert flag == int(retimed)
    expected = to_ms(NOW) if retimed else to_ms(datetime.fromisoformat(ts.replace("Z", "+00:00")))
    assert at == expected
    assert rows(store, "SELECT at FROM ratings") == [(expected,)]


def test_strict_mode_rejects_unknown_devices_but_keeps_the_stream_moving(store, clock):
    strict = Ingestor(store, clock, strict=True)
    result = strict.handle([msg(event(1), device="stranger")])
    assert result.rejected == 1 and result.acks == [("stranger", Ack(STREAM, 1))]
    assert "not registered" in rows(store, "SELECT reason FROM rejects")[0][0]
    assert rows(store, "SELECT payload FROM rejects")[0][0], "the refused event is kept for a manager"
    store.ingest.register_device("k1", "w01", to_ms(NOW - timedelta(hours=1)))  # before its event
    assert strict.handle([msg(event(1, stream="stream-0002"))]).stored == 1


def test_unregistered_devices_are_accepted_and_listed(ingest, store):
    ingest.handle([msg(event(1), device="newcomer")])
    assert rows(store, "SELECT device, confirmed FROM devices") == [("newcomer", 0)]
    assert rows(store, "SELECT count(*) FROM events") == [(1,)]


def _presence(seq, state, hhmmss, **kw):
    return msg(event(seq, type="presence", state=state, ts=f"2026-11-23T{hhmmss}.000+08:00", staff="1024", **kw))


def _absences(store):
    return rows(store, "SELECT window, staff, (end_at - start_at) / 1000 FROM absences ORDER BY start_at")


def test_away_and_present_pair_into_absences(ingest, store):
    ingest.handle([_presence(1, "present", "08:00:00"), _presence(2, "away", "08:10:00"),
                   _presence(3, "present", "08:15:30"), _presence(4, "away", "09:00:00"),
                   _presence(5, "present", "09:00:45")])
    assert _absences(store) == [("w01", "1024", 330), ("w01", "1024", 45)]
    assert rows(store, "SELECT presence, open_absence FROM windows") == [("present", None)]


def test_presence_follows_seq_order_not_arrival_order(ingest, store):
    ingest.handle([_presence(2, "present", "08:20:00")])
    assert _absences(store) == []
    ingest.handle([_presence(1, "away", "08:10:00")])
    assert _absences(store) == [("w01", "1024", 600)]


def test_a_batch_finds_its_streams_presences_by_index_not_among_its_ratings(ingest, store):
    ratings = [event(seq, score=5) for seq in range(1, 4)]
    with traced(store) as statements:
        ingest.handle([*map(msg, ratings), _presence(4, "away", "08:10:00")])
    assert _absences(store) == [("w01", "1024", None)]
    lookup = next(s for s in statements if "type = 'presence'" in s)
    plan = query_plan(store, lookup)
    assert "USING INDEX events_presences (stream=? AND seq>? AND seq<?)" in plan, plan


def test_an_absence_open_across_a_kiosk_restart_still_closes(ingest, store):
    ingest.handle([_presence(1, "away", "08:00:00")])
    # the kiosk reboots: a new stream, and its first event states the sign is still out
    ingest.handle([_presence(1, "away", "08:07:00", stream="stream-0002"),
                   _presence(2, "present", "08:12:00", stream="stream-0002")])
    assert _absences(store) == [("w01", "1024", 720)]


def test_status_and_staff_update_the_window(ingest, store):
    ingest.handle([msg({"v": 1, "online": True, "window": "w01", "presence": "present", "outbox": 3,
                        "version": "0.1.0", "sensor": "flapping"}, kind="status")])
    assert rows(store, "SELECT online, window, outbox, version, sensor FROM devices") == [
        (1, "w01", 3, "0.1.0", "flapping")]
    ingest.handle([msg(event(1, type="staff", staff="2048"))])
    assert store.reports.windows()[0]["staff"] == "2048"
    ingest.handle([msg(event(2, type="staff"))])
    assert store.reports.windows()[0]["staff"] is None
    ingest.handle([msg({"v": 1, "online": False}, kind="status")])
    assert store.reports.windows()[0]["online"] == 0
    assert ingest.handle([msg(b"", kind="status")]).rejected == 0, "a cleared retained status is no error"
    assert ingest.handle([msg(b'{"v":1}', kind="status")]).rejected == 1


def test_the_servers_own_topics_are_ignored(ingest, store):
    result = ingest.handle([msg(b'{"v":1,"stream":"x","upto_seq":1}', kind="ack"), msg(b"{}", kind="config")])
    assert (result.stored, result.rejected) == (0, 0)
    assert rows(store, "SELECT count(*) FROM devices") == [(0,)]


def test_a_message_the_store_cannot_take_does_not_block_the_batch(ingest, store, monkeypatch):
    original = store.ingest.insert_events

    def insert_events(items):
        if any(item.event.seq == 2 for item in items):
            raise ValueError("a bug in storing this one")
        return original(items)

    monkeypatch.setattr(store.ingest, "insert_events", insert_events)
    result = ingest.handle([msg(event(1)), msg(event(2)), msg(event(3))])
    assert (result.stored, result.rejected) == (2, 1)
    assert result.acks[-1] == ("k1", Ack(STREAM, 3))
    assert "could not store" in rows(store, "SELECT reason FROM rejects")[0][0]
    assert rows(store, "SELECT seq FROM events ORDER BY seq") == [(1,), (3,)]


def test_a_passing_database_fault_acks_nothing(ingest, store, monkeypatch):
    import sqlite3

    def locked(items):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store.ingest, "insert_events", locked)
    with pytest.raises(sqlite3.OperationalError):
        ingest.handle([msg(event(1))])
    assert rows(store, "SELECT count(*) FROM rejects") == [(0,)]


# ---------------------------------------------------------------- a batch is checked and stored set-wise

def test_an_id_twice_in_one_batch_is_stored_once_and_counted_as_a_duplicate(ingest, store):
    result = ingest.handle([msg(event(1)), msg(event(2)), msg(event(1))])
    assert (result.stored, result.duplicates, result.rejected) == (2, 1, 0)
    assert result.acks == [("k1", Ack(STREAM, 2))]
    assert rows(store, "SELECT id FROM events ORDER BY seq") == [(f"{STREAM}-000001",), (f"{STREAM}-000002",)]
    assert rows(store, "SELECT count(*) FROM ratings") == [(2,)]


def test_a_seq_used_by_two_ids_in_one_batch_keeps_the_first(ingest, store):
    result = ingest.handle([msg(event(1)), msg(event(1, id="another-event-id"))])
    assert (result.stored, result.duplicates, result.rejected) == (1, 0, 1)
    assert result.acks == [("k1", Ack(STREAM, 1))]
    assert rows(store, "SELECT id FROM events") == [(f"{STREAM}-000001",)]
    assert rows(store, "SELECT reason, stream, seq FROM rejects") == [
        (f"seq 1 of stream {STREAM} already belongs to event {STREAM}-000001", None, None)]
    assert rows(store, "SELECT rejected FROM devices") == [(1,)]


def test_seqs_handled_in_a_batch_are_kept_only_beyond_the_contiguous_mark(ingest, store):
    assert ingest.handle([msg(event(1)), msg(event(2)), msg(event(5)), msg(event(4, score=9))]).acks == [
        ("k1", Ack(STREAM, 2))]
    assert rows(store, "SELECT seq FROM stream_ahead ORDER BY seq") == [(4,), (5,)]
    assert rows(store, "SELECT upto_seq, max_seq FROM streams") == [(2, 5)]
    assert ingest.handle([msg(event(3))]).acks == [("k1", Ack(STREAM, 5))]
    assert rows(store, "SELECT seq FROM stream_ahead") == []


def test_each_window_takes_the_clerk_of_its_last_event_in_seq_order(ingest, store):
    ingest.handle([msg(event(4, window="w02")), msg(event(1, staff="1024")), msg(event(3, staff="2048")),
                   msg(event(2, window="w02", staff="7"))])
    assert rows(store, "SELECT window, staff FROM windows ORDER BY window") == [("w01", "2048"), ("w02", None)]


K2_STREAM = "stream-k2-01"
MIXED = [
    msg({"v": 1, "online": True, "window": "w01", "presence": "present", "outbox": 2}, kind="status"),
    msg(event(1)),
    msg(event(2, type="staff", staff="2048")),
    msg(event(1)),                                                  # a duplicate within the batch
    msg(event(3, type="presence", state="away", staff="2048", ts="2026-11-23T09:10:00.000+08:00")),
    msg(b"{not json"),                                              # rejected, names no stream
    msg(event(4, score=9)),                                         # rejected, still handled for the ack
    msg(event(5, id="another-id-0005")),
    msg(event(5)),                                                  # its seq belongs to another-id-0005
    msg(event(9, id="intruder-0009")),                              # seq 9 was stored before the batch
    msg(event(7, type="feedback", text="很好", rating=f"{STREAM}-000001")),  # 6 not yet here: a gap
    msg(event(1, stream=K2_STREAM, window="w02"), device="k2"),
    msg(event(6, type="presence", state="present", staff="2048", ts="2026-11-23T09:20:00.000+08:00")),
    msg(event(8), device="k2"),                                     # k1's stream
    Message("ceval/v1/k1/evnt", b"{}"),
    msg(b'{"v":1,"stream":"x","upto_seq":1}', kind="ack"),
    msg(b'{"v":1}', kind="status", device="k2"),                    # a bad status
    msg(event(8)),
    msg(event(12, id=f"{STREAM}-000001")),                          # a known id under another seq
    msg(event(2, stream=K2_STREAM, window="w02", ts="2040-01-01T00:00:00.000Z"), device="k2"),  # re-timed
    msg(event(9)),                                                  # a duplicate of what was stored before
]


def _tables(store) -> dict[str, list[tuple]]:
    names = [r[0] for r in rows(store, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\'")]
    assert {"events", "ratings", "feedback", "rejects", "stream_ahead", "absences"} <= set(names)
    return {name: rows(store, f"SELECT * FROM {name} ORDER BY {'stream, seq' if name == 'stream_ahead' else 'rowid'}")
            for name in names}


def test_a_mixed_batch_stores_what_one_message_at_a_time_stores(tmp_path, clock):
    batched, single = (Store(open_db(tmp_path / f"{name}.sqlite3")) for name in ("batched", "single"))
    for store in (batched, single):
        Ingestor(store, clock).handle([msg(event(9))])

    result = Ingestor(batched, clock).handle(MIXED)
    singly = Ingestor(single, clock)
    results = [singly.handle([message]) for message in MIXED]

    assert (result.stored, result.duplicates, result.rejected) == (
        sum(r.stored for r in results), sum(r.duplicates for r in results), sum(r.rejected for r in results))
    assert (result.stored, result.duplicates, result.rejected) == (9, 3, 7)
    assert {(d, a.stream): a for d, a in result.acks} == {(d, a.stream): a for r in results for d, a in r.acks}
    assert result.acks == [("k1", Ack(STREAM, 9)), ("k2", Ack(K2_STREAM, 2))]
    assert _tables(batched) == _tables(single)
    assert rows(batched, "SELECT window, staff, (end_at - start_at) / 1000 FROM absences") == [("w01", "2048", 600)]
    assert rows(batched, "SELECT seq FROM stream_ahead") == [(12,)]


def test_presence_before_a_gap_declared_lost_still_counts(ingest, store, clock):
    ingest.handle([_presence(1, "away", "08:00:00"), msg(event(5))])
    clock.advance(601)
    result = ingest.handle([_presence(2, "present", "08:05:00"), msg(event(3))])
    assert result.acks == [("k1", Ack(STREAM, 5))]
    assert rows(store, "SELECT from_seq, to_seq FROM gaps") == [(4, 4)]
    assert _absences(store) == [("w01", "1024", 300)]


def test_a_window_is_dated_from_its_earliest_event_whatever_the_order_they_come_in(ingest, store):
    def first_at():
        return store.db.execute("SELECT first_at FROM windows WHERE window = 'w01'").fetchone()[0]

    ingest.handle([msg(event(1, ts="2026-11-23T10:00:00.000+08:00")),
                   msg(event(2, ts="2026-11-20T09:00:00.000+08:00"))])  # one batch, the later first
    assert first_at() == to_ms(datetime(2026, 11, 20, 1, tzinfo=UTC))
    ingest.handle([msg(event(3, ts="2026-11-23T11:00:00.000+08:00"))])
    ingest.handle([msg(event(1, stream="stream-old", ts="2026-11-19T09:00:00.000+08:00"), device="k9")])
    assert first_at() == to_ms(datetime(2026, 11, 19, 1, tzinfo=UTC)), "an earlier one, sent late"
    store.registry.create_window("w77", "77号窗口", None)
    assert store.db.execute("SELECT first_at FROM windows WHERE window = 'w77'").fetchone()[0] is None


def test_the_collectors_gap_timeout_is_the_command_lines_default():
    from ceval.main import build_parser

    args = build_parser().parse_args(["server", "--db", "x.db", "--broker", "mqtt://localhost:1883"])
    assert inspect.signature(Ingestor).parameters["gap_timeout"].default == args.gap_timeout
