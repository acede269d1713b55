"""Backup while writing, restore with its refusals, and retention of raw payloads, on real SQLite files."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.domain.figures import DayRange
from server.ingest.ingestor import Ingestor
from server.ops.backup import BackupError, backup, check, restore
from server.ops.retention import RetentionTask
from server.reporting.summary import window_summary
from server.store import Store
from server.store.db import open_db
from shared.clock import FakeClock
from shared.timefmt import to_ms

from ..helpers import ROOT, ceval, wait_for
from .events import event, msg

NOW = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def ts(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="milliseconds")


def count(path: Path, sql: str, params=()) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def fill(path: Path, n: int, stream: str = "stream-fill", start: int = 1) -> None:
    store = Store(open_db(path))
    try:
        store.settings.set_device_rate(100_000)  # thousands of ratings in one minute: far above the quota meant for humans
        ingest = Ingestor(store, FakeClock(NOW))
        ingest.handle([msg(event(seq, stream=stream, ts=ts(NOW))) for seq in range(start, start + n)])
    finally:
        store.db.close()


class Holder:
    """Another process with the database open, as a running server has it."""

    def __init__(self, path: Path, script: str = ""):
        code = ("import sqlite3, sys\n"
                f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
                "c.execute('SELECT count(*) FROM events').fetchone()\n"
                f"{script}\n"
                "print('ready', flush=True)\n"
                "sys.stdin.read()\n")
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=ROOT)
        assert self.process.stdout.readline().strip() == "ready"

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


# ---------------------------------------------------------------- backup
def test_a_backup_taken_while_batches_commit_is_one_consistent_snapshot(tmp_path):
    db = tmp_path / "live.sqlite3"
    fill(db, 2000)
    stop, commits, errors = threading.Event(), [0], []

    def write():
        store = Store(open_db(db))
        ingest = Ingestor(store, FakeClock(NOW))
        seq = 1
        try:
            while not stop.is_set():  # batches of 50 ratings, each batch one transaction with its stream's mark
                ingest.handle([msg(event(s, stream="stream-live", ts=ts(NOW))) for s in range(seq, seq + 50)])
                seq += 50
                commits[0] += 1
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            store.db.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: commits[0] >= 5, 20, "the writer to commit")
        before = commits[0]
        summary = backup(db, tmp_path / "backups" / "b.sqlite3")
        wait_for(lambda: commits[0] >= before + 5, 20, "the writer to go on committing after the backup")
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    out = tmp_path / "backups" / "b.sqlite3"
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.sqlite3"], "no temporary file, no -wal beside it"
    live = count(out, "SELECT count(*) FROM events WHERE stream = 'stream-live'")
    assert 0 < live < 50 * commits[0] and live % 50 == 0, "whole batches only"
    assert count(out, "SELECT upto_seq FROM streams WHERE stream = 'stream-live'") == live, "events and marks agree"
    assert count(out, "SELECT count(*) FROM ratings") == count(out, "SELECT count(*) FROM events") == 2000 + live
    assert summary["events"] == summary["ratings"] == 2000 + live
    assert summary["integrity"] == "ok" and summary["schema"] == check(db)["schema"]
    assert count(out, "PRAGMA journal_mode") == "delete"


def test_ceval_backup_prints_a_summary_and_refuses_a_missing_database(tmp_path):
    db = tmp_path / "s.sqlite3"
    fill(db, 7)
    result = ceval("backup", "--db", str(db), "--out", str(tmp_path / "b.sqlite3"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["events"], summary["ratings"], summary["integrity"]) == (7, 7, "ok")
    assert summary["schema"].startswith("m0") and summary["bytes"] > 0

    result = ceval("backup", "--db", str(tmp_path / "missing.sqlite3"), "--out", str(tmp_path / "c.sqlite3"))
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "missing.sqlite3").exists() and not (tmp_path / "c.sqlite3").exists()


# ---------------------------------------------------------------- restore
@pytest.fixture
def saved(tmp_path) -> Path:
    """A backup holding 5 events."""
    db = tmp_path / "then.sqlite3"
    fill(db, 5, stream="stream-then")
    return Path(backup(db, tmp_path / "saved.sqlite3")["backup"])


def test_restore_refuses_while_a_process_has_the_database_open(tmp_path, saved):
    db = tmp_path / "server.sqlite3"
    fill(db, 3)
    holder = Holder(db)
    try:
        with pytest.raises(BackupError, match="open"):
            restore(saved, db)
        result = ceval("restore", "--db", str(db), "--from", str(saved))
        assert result.returncode == 1 and "Stop the server" in result.stderr
        assert not Path(f"{db}.before-restore").exists()
    finally:
        holder.close()
    assert count(db, "SELECT count(*) FROM events") == 3, "untouched"

    result = ceval("restore", "--db", str(db), "--from", str(saved))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events"] == 5
    assert count(db, "SELECT count(*) FROM events WHERE stream = 'stream-then'") == 5
    assert count(Path(f"{db}.before-restore"), "SELECT count(*) FROM events") == 3, "the old database is kept"
    assert saved.exists() and check(saved)["events"] == 5, "the backup itself is left as it was"


def test_a_stale_wal_is_kept_with_the_old_database_and_never_replayed_onto_the_restored_one(tmp_path, saved):
    db = tmp_path / "server.sqlite3"
    fill(db, 3)
    # a server killed with commits still in its WAL (no checkpoint): they belong to the old database
    holder = Holder(db, "c.execute(\"INSERT INTO settings (key, value) VALUES ('crash', '1')\")")
    holder.kill()
    assert Path(f"{db}-wal").stat().st_size > 0

    summary = restore(saved, db)
    assert summary["before_restore"] == f"{db}.before-restore"
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
    assert check(db)["events"] == 5
    assert count(db, "SELECT count(*) FROM settings WHERE key = 'crash'") == 0
    kept = Path(f"{db}.before-restore")
    assert count(kept, "SELECT count(*) FROM settings WHERE key = 'crash'") == 1, "the WAL's commit was folded in"
    assert count(kept, "SELECT count(*) FROM events") == 3
    store = Store(open_db(db))  # the app opens it as usual
    try:
        assert store.db.execute("SELECT count(*) FROM ratings").fetchone()[0] == 5
    finally:
        store.db.close()


def test_a_damaged_backup_is_refused_and_changes_nothing(tmp_path, saved):
    db = tmp_path / "server.sqlite3"
    fill(db, 3)
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(saved.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 4 * page
    data[2 * page:4 * page] = bytes([0xA5]) * (2 * page)  # two pages of the tables overwritten
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="integrity check|not a usable"):
        restore(damaged, db)

    garbage = tmp_path / "notes.txt"
    garbage.write_text("这不是数据库" * 200, encoding="utf-8")
    result = ceval("restore", "--db", str(db), "--from", str(garbage))
    assert result.returncode == 1 and "not a usable" in result.stderr

    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE events (id TEXT)")
    conn.close()
    with pytest.raises(BackupError, match="not a counter-eval database"):
        restore(foreign, db)

    newer = tmp_path / "newer.sqlite3"
    newer.write_bytes(saved.read_bytes())
    conn = sqlite3.connect(newer)
    with conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('counter-eval', 'm999_future', '2030-01-01')")
    conn.close()
    with pytest.raises(BackupError, match="newer counter-eval"):
        restore(newer, db)

    assert count(db, "SELECT count(*) FROM events") == 3
    assert not Path(f"{db}.before-restore").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no temporary files left"


def test_an_earlier_before_restore_copy_is_never_overwritten(tmp_path, saved):
    db = tmp_path / "server.sqlite3"
    fill(db, 3)
    restore(saved, db)
    with pytest.raises(BackupError, match="before-restore exists"):
        restore(saved, db)
    assert count(Path(f"{db}.before-restore"), "SELECT count(*) FROM events") == 3


def test_restore_into_a_new_place(tmp_path, saved):
    target = tmp_path / "fresh" / "ceval.sqlite3"
    summary = restore(saved, target)
    assert summary["before_restore"] is None and check(target)["events"] == 5


# ---------------------------------------------------------------- retention
@pytest.fixture
def clock_start():
    return NOW


def figures(store: Store, now: datetime) -> dict:
    days = DayRange(date(2026, 5, 1), date(2026, 8, 31), SHANGHAI)
    return {w: window_summary(store, w, days, to_ms(now)) for w in ("w01", "w02")}


def test_retention_prunes_old_raw_payloads_keeps_every_figure_and_still_knows_old_events(store, clock):
    ingest = Ingestor(store, clock)
    old_messages = [msg(event(1, type="presence", state="away", ts=ts(NOW))),
                    msg(event(2, type="presence", state="present", ts=ts(NOW + timedelta(minutes=4)))),
                    *[msg(event(seq, score=seq % 5 + 1, ts=ts(NOW))) for seq in range(3, 13)],
                    msg(event(13, type="feedback", text="办理很快", ts=ts(NOW)))]
    ingest.handle(old_messages)
    ingest.handle([msg(b"{not json", device="k1"), msg(event(1, stream="stream-w2", window="w02", ts=ts(NOW)))])
    clock.advance(40 * 86400)
    later = clock.now()
    ingest.handle([msg(event(seq, ts=ts(later))) for seq in range(14, 18)]
                  + [msg(b"[]", device="k1")])
    before = figures(store, later)
    rejected = store.db.execute("SELECT rejected FROM devices WHERE device = 'k1'").fetchone()[0]

    RetentionTask(batch=3, pause=0).run(store, later)  # off by default: nothing goes
    assert store.maintenance.pruned_payloads() == 0 and store.db.execute("SELECT count(*) FROM rejects").fetchone()[0] == 2

    store.maintenance.set_retention_days(30)
    RetentionTask(batch=3, pause=0).run(store, later)
    payloads = dict(store.db.execute("SELECT id, payload FROM events").fetchall())
    assert len(payloads) == 18, "every event row stays"
    old = [k for k in payloads if not k.endswith(tuple(f"-{s:06d}" for s in range(14, 18)))]
    assert len(old) == 14 and all(payloads[k] == "" for k in old)
    assert all(json.loads(payloads[f"stream-0001-{s:06d}"])["seq"] == s for s in range(14, 18))
    assert [r[0] for r in store.db.execute("SELECT payload FROM rejects").fetchall()] == [b"[]"]
    assert store.db.execute("SELECT rejected FROM devices WHERE device = 'k1'").fetchone()[0] == rejected
    assert figures(store, later) == before, "ratings, absences and feedback are untouched"
    assert before["w01"]["ratings"]["total"] == 14 and before["w01"]["absences"]["count"] == 1
    assert before["w01"]["feedback"]["count"] == 1

    # a kiosk sends an old event again (its outbox never saw the ack): still a duplicate, still acked
    result = ingest.handle([old_messages[5]])
    assert (result.stored, result.duplicates, result.rejected) == (0, 1, 0)
    assert [(ack.stream, ack.upto_seq) for _, ack in result.acks] == [("stream-0001", 17)]
    # the same seq under another id is still refused: the stream's seq is still known to be taken
    result = ingest.handle([msg(event(5, id="another-id-0005", ts=ts(later)))])
    assert (result.stored, result.rejected) == (0, 1)
    assert figures(store, later) == before

    RetentionTask(batch=3, pause=0).run(store, later)  # a second run finds nothing more
    assert store.maintenance.pruned_payloads() == 14


def test_retention_leaves_the_payloads_a_stream_has_not_reached_yet(store, clock):
    ingest = Ingestor(store, clock, gap_timeout=10 * 86400 * 60)
    ingest.handle([msg(event(1, ts=ts(NOW))), msg(event(3, type="presence", state="away", ts=ts(NOW)))])
    clock.advance(40 * 86400)
    store.maintenance.set_retention_days(30)
    RetentionTask(pause=0).run(store, clock.now())
    payloads = dict(store.db.execute("SELECT seq, payload FROM events").fetchall())
    assert payloads[1] == "" and json.loads(payloads[3])["state"] == "away", "seq 3 waits for seq 2"
    ingest.handle([msg(event(2, ts=ts(NOW)))])  # the gap fills: the away sign now applies, from its payload
    assert store.ingest.window_presence("w01")[0] == "away"
    RetentionTask(pause=0).run(store, clock.now())
    payloads = dict(store.db.execute("SELECT seq, payload FROM events").fetchall())
    assert payloads == {1: "", 3: "", 2: payloads[2]} and payloads[2], "seq 2 arrived just now: it stays"


def test_ceval_retention_shows_and_sets_the_period(tmp_path):
    db = tmp_path / "r.sqlite3"
    fill(db, 2)
    shown = ceval("retention", "--db", str(db))
    assert shown.returncode == 0 and json.loads(shown.stdout) == {"retention_days": None, "pruned_payloads": 0}
    assert json.loads(ceval("retention", "--db", str(db), "--days", "150").stdout)["retention_days"] == 150
    bad = ceval("retention", "--db", str(db), "--days", "0")
    assert bad.returncode == 2 and "1 to 36500" in bad.stderr
    assert json.loads(ceval("retention", "--db", str(db)).stdout)["retention_days"] == 150
    assert json.loads(ceval("retention", "--db", str(db), "--off").stdout)["retention_days"] is None
