"""A backup taken while 1,000 ratings stream in from real kiosks restores with every acknowledged one."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from device.runtime import KioskRuntime
from server.store import Store
from server.store.db import open_db
from server.web.app import create_app
from shared.timefmt import to_ms

from ..helpers import ServerProcess, ceval, flood_allowed, kiosk_settings, outbox_rows, query, rate, wait_for

TOTAL = 1000


@pytest.mark.slow
def test_a_backup_taken_while_1000_events_stream_in_restores_every_acknowledged_event(tmp_path, broker):
    server = ServerProcess(flood_allowed(tmp_path / "ceval.sqlite3"), broker.url).start()
    runtimes = [KioskRuntime(kiosk_settings(tmp_path / name, broker.url, name, window))
                for name, window in (("k-bk1", "w61"), ("k-bk2", "w62"))]
    produced: list[str] = []  # event ids in the order the kiosks committed them to their outboxes
    backup_started, failures = threading.Event(), []

    def stream() -> None:
        try:
            for i in range(TOTAL):
                if i == TOTAL // 2:
                    # the second half must stream while the backup runs: wait until it has begun
                    backup_started.wait(60)
                produced.append(rate(runtimes[i % 2], 3 + i % 3))
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            failures.append(exc)

    producer = threading.Thread(target=stream)
    try:
        for runtime in runtimes:
            runtime.start()
        producer.start()
        wait_for(lambda: len(produced) >= 300 and query(server.db, "SELECT count(*) FROM ratings")[0][0] >= 200,
                 60, "ratings to stream in and be stored")

        # What the kiosks have had acknowledged, just before the backup: an id committed to an outbox
        # (listed in `produced` before the outbox is read) and no longer in it was deleted on its ack.
        committed = list(produced)
        waiting = {json.loads(payload)["id"] for runtime in runtimes
                   for _, payload in outbox_rows(runtime.settings.data_dir)}
        acked = set(committed) - waiting
        assert len(acked) >= 200
        stored_before = query(server.db, "SELECT count(*) FROM events")[0][0]
        backup_started.set()
        result = ceval("backup", "--db", str(server.db), "--out", str(tmp_path / "backups" / "ceval.bak"))
        stored_after = query(server.db, "SELECT count(*) FROM events")[0][0]
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert stored_after > stored_before, "the collector went on storing while the backup ran"
        assert summary["integrity"] == "ok" and summary["ratings"] >= len(acked)

        producer.join(180)
        assert not failures, failures
        assert len(produced) == TOTAL
        wait_for(lambda: all(r.outbox.count() == 0 for r in runtimes), 60, "every rating to be acknowledged")
        assert query(server.db, "SELECT count(*) FROM ratings")[0][0] == TOTAL
    finally:
        backup_started.set()
        producer.join(60)
        for runtime in runtimes:
            runtime.stop()
        server.stop()

    restored = tmp_path / "restored" / "ceval.sqlite3"
    result = ceval("restore", "--db", str(restored), "--from", str(tmp_path / "backups" / "ceval.bak"))
    assert result.returncode == 0, result.stderr
    ids = {row[0] for row in query(restored, "SELECT event_id FROM ratings")}
    missing = acked - ids
    assert not missing, f"{len(missing)} acknowledged ratings are missing from the restored database"
    assert ids <= set(produced), "nothing but the kiosks' ratings"
    assert query(restored, "PRAGMA integrity_check") == [("ok",)]

    store = Store(open_db(restored))
    try:
        token = store.accounts.create_token("restore-check", to_ms(datetime.now().astimezone()))
    finally:
        store.db.close()
    app = create_app({"DATABASE": str(restored), "TESTING": True, "SECRET_KEY": "test"})
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    client = app.test_client()
    totals = 0
    for window in ("w61", "w62"):
        response = client.get(f"/api/v1/windows/{window}/summary?from={today - timedelta(days=1)}"
                              f"&to={today + timedelta(days=1)}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        totals += response.get_json()["ratings"]["total"]
    assert totals == len(ids) == summary["ratings"]
