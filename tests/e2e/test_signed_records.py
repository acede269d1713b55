"""Signed, chained records (issue 14): a real kiosk with its own key -> the shipped Mosquitto -> `ceval server
--strict`; `ceval audit verify` says OK, then names a deleted rating, a changed score and two swapped seqs; a
pinned kiosk's badly signed, mis-chained and unsigned events are rejected and acknowledged."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

from device.runtime import KioskRuntime
from device.settings import load_settings
from device.signing_key import SigningKey
from shared import signing
from shared.contract import Event, Status
from shared.timefmt import format_ts

from ..helpers import ROOT, ceval, query, rate, wait_for, write
from .test_hostile_kiosk import Kiosk


def pin(hall, device: str, key: SigningKey) -> None:
    done = ceval("device", "add", device, "--db", str(hall.db), "--no-broker",
                 "--key", signing.shown_fingerprint(key.fingerprint))
    assert done.returncode == 0, done.stderr
    assert "pinned" in done.stdout


def audit(hall, *more: str):
    return ceval("audit", "verify", "--db", str(hall.db), "--window", "w-a", *more)


def third_party(hall, tmp_path) -> None:
    """The window's audit bundle checks with shared/signing.py copied alone, run by a Python that cannot see
    this repository (-I); the same bundle with one record edited fails."""
    bundle = tmp_path / "bundle.json"
    made = ceval("audit", "bundle", "--db", str(hall.db), "--window", "w-a", "--out", str(bundle))
    assert made.returncode == 0, made.stderr
    alone = tmp_path / "auditor" / "signing.py"
    alone.parent.mkdir()
    shutil.copy(ROOT / "shared" / "signing.py", alone)

    def check(path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-I", str(alone), str(path)], capture_output=True, text=True,
                              cwd=alone.parent, timeout=60)

    passed = check(bundle)
    assert passed.returncode == 0 and passed.stdout.splitlines()[-1].startswith("OK 101 events"), passed
    data = json.loads(bundle.read_text(encoding="utf-8"))
    record = next(e for s in data["streams"] for e in s["events"] if e["type"] == "rating"
                  and json.loads(e["payload"])["score"] == 1)
    signed = json.loads(record["payload"])
    signed["score"] = 5
    record["payload"], record["counted"]["score"] = json.dumps(signed), 5
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    failed = check(edited)
    assert failed.returncode == 1, failed
    assert f"altered: device k-a stream {data['streams'][0]['stream']} seq {record['seq']}" \
        in failed.stdout, failed.stdout


def test_a_kiosks_signed_ratings_verify_and_each_tampering_is_named(hall, server, tmp_path):
    settings = replace(load_settings(hall.kiosk_configs["k-a"]), ack_timeout=1.0, thanks_seconds=0.001,
                       reasons_timeout=5.0, min_interval=0.0)
    pin(hall, "k-a", SigningKey.load_or_create(settings.data_dir))  # as `ceval kiosk --key` shows it on the Pi
    runtime = KioskRuntime(settings)
    runtime.start()
    try:
        ids = [rate(runtime, i % 5 + 1) for i in range(100)]
        wait_for(lambda: runtime.outbox.count() == 0, 60, "every event acknowledged")
    finally:
        runtime.stop()
    assert query(hall.db, "SELECT count(*) FROM ratings WHERE window = 'w-a'") == [(100,)]
    assert query(hall.db, "SELECT count(*) FROM events WHERE prev IS NULL OR digest IS NULL") == [(0,)]

    ok = audit(hall)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("OK 101 events checked: 101 signatures verified"), ok.stdout
    third_party(hall, tmp_path)

    server.stop()  # someone with the database in hand
    seq_of = dict(query(hall.db, "SELECT id, seq FROM events"))

    deleted, changed, a, b = ids[10], ids[20], ids[30], ids[31]
    write(hall.db, ("DELETE FROM cases WHERE rating_id = ?", deleted))
    write(hall.db, ("DELETE FROM ratings WHERE event_id = ?", deleted))
    write(hall.db, ("DELETE FROM events WHERE id = ?", deleted))
    write(hall.db, ("UPDATE ratings SET score = 5 WHERE event_id = ? AND score < 5", changed))
    write(hall.db, ("UPDATE events SET seq = -1 WHERE id = ?", a))
    write(hall.db, ("UPDATE events SET seq = ? WHERE id = ?", seq_of[a], b))
    write(hall.db, ("UPDATE events SET seq = ? WHERE id = ?", seq_of[b], a))

    broken = audit(hall)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    lines = broken.stdout.splitlines()
    assert any(line.startswith(f"missing: device k-a stream {runtime.outbox.stream} seq {seq_of[deleted]}:")
               for line in lines), broken.stdout
    assert any(line.startswith(f"altered: device k-a stream {runtime.outbox.stream} seq {seq_of[changed]}:")
               and "rating score stored as 5, signed 1" in line for line in lines), broken.stdout
    for moved, signed_seq in ((a, seq_of[a]), (b, seq_of[b])):
        stored_at = seq_of[b] if moved == a else seq_of[a]
        assert any(line.startswith(f"re-ordered: device k-a stream {runtime.outbox.stream} seq {stored_at}:")
                   and f"signed as seq {signed_seq}" in line for line in lines), broken.stdout
    assert lines[-1].startswith("FAILED")


def _signed(key: SigningKey, stream: str, seq: int, prev: str, score: int = 5) -> tuple[bytes, str]:
    """A rating event of k-b signed with `key`; returns it and its link."""
    event = Event(id=f"k-b-signed-{seq:04d}", stream=stream, seq=seq, ts=format_ts(datetime.now(UTC)),
                  window="w-b", type="rating", score=score, scale=5, prev=prev)
    fields = event.to_dict()
    return replace(event, sig=key.sign(fields)).to_json(), signing.link(prev, signing.digest(fields))


def test_a_pinned_kiosks_bad_signature_broken_chain_and_unsigned_event_are_rejected_and_acked(hall, server, tmp_path):
    key, other = SigningKey.load_or_create(tmp_path / "k-b"), SigningKey.load_or_create(tmp_path / "thief")
    pin(hall, "k-b", key)
    kiosk = Kiosk(hall, "k-b")
    stream = "stream-k-b"
    try:
        kiosk.publish([Status(online=True, key=key.public_key).to_json()], "status", retain=True)
        first, first_link = _signed(key, stream, 1, signing.genesis(stream))
        wrong_prev, _ = _signed(key, stream, 2, signing.genesis("another-stream"))
        forged, _ = _signed(other, stream, 3, first_link)
        unsigned = json.loads(_signed(key, stream, 4, first_link)[0])
        del unsigned["sig"], unsigned["prev"]
        kiosk.publish([first, wrong_prev, forged, json.dumps(unsigned).encode()])
        wait_for(lambda: kiosk.acked(4), 15, "all four acknowledged")
    finally:
        kiosk.close()
    assert query(hall.db, "SELECT seq FROM events WHERE device = 'k-b'") == [(1,)]
    reasons = dict(query(hall.db, "SELECT seq, reason FROM rejects WHERE device = 'k-b'"))
    assert reasons[2] == "prev: it does not name seq 1 of stream stream-k-b", reasons
    assert reasons[3].startswith("sig: the signature does not verify with device k-b's pinned key"), reasons
    assert reasons[4].startswith("unsigned event: device k-b has a pinned key"), reasons
    alerts = query(hall.db, "SELECT kind, device FROM alerts WHERE kind = 'chain'")
    assert alerts == [("chain", "k-b")]
