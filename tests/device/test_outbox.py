"""The outbox on a real SQLite file: durable ids, streams and seqs; acks delete only what they cover."""
from __future__ import annotations

import sqlite3

from device.outbox import Outbox
from shared.contract import parse_event


def _append(outbox: Outbox, score: int = 5):
    return outbox.append(ts="2026-11-23T09:00:00.000+08:00", window="w01", type="rating", staff="1024",
                         score=score, scale=5)


def test_seq_and_stream_survive_reopening(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path)
    events = [_append(first) for _ in range(3)]
    first.close()
    again = Outbox(path)
    assert again.stream == first.stream
    assert _append(again).seq == 4
    assert [e.seq for e in events] == [1, 2, 3]
    assert again.count() == 4


def test_a_new_file_starts_a_new_stream(tmp_path):
    a, b = Outbox(tmp_path / "a.sqlite3"), Outbox(tmp_path / "b.sqlite3")
    assert a.stream != b.stream and len(a.stream) == 16


def test_stored_payload_is_a_valid_event(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite3")
    event = _append(outbox, 2)
    [(seq, payload)] = outbox.pending()
    assert seq == 1 and parse_event(payload) == event


def test_ack_deletes_only_covered_rows_of_our_stream(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite3")
    for _ in range(5):
        _append(outbox)
    assert outbox.ack("someone-else-stream", 5) == 0
    assert outbox.ack(outbox.stream, 3) == 3
    assert [seq for seq, _ in outbox.pending()] == [4, 5]
    assert [seq for seq, _ in outbox.pending(after_seq=4)] == [5]
    assert outbox.ack(outbox.stream, 3) == 0  # a repeated ack changes nothing


def test_outbox_is_synchronous_full_and_committed(tmp_path):
    path = tmp_path / "o.sqlite3"
    outbox = Outbox(path)
    _append(outbox)
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    _append(outbox)
    assert outbox.ack(outbox.stream, 1) == 1  # an ack's delete runs unflushed (NORMAL) ...
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # ... and leaves appends FULL
    other = sqlite3.connect(str(path))  # another process sees it committed at once
    assert other.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
