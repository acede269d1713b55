"""A bad rating pressed on a real kiosk travels through the real broker to the real server and opens a
follow-up case with its deadline; a good one opens none, and a resend opens no second case."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import paho.mqtt.publish as publish

from device.runtime import KioskRuntime
from server.domain.workdays import Calendar

from ..helpers import ServerProcess, kiosk_settings, query, rate, wait_for


def test_a_bad_rating_on_the_broker_opens_a_case(tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-case", "w61"))
    try:
        kiosk.start()
        good = rate(kiosk, 5)
        bad = rate(kiosk, 2, ["attitude"])
        wait_for(lambda: not kiosk.outbox.count(), 15, "both ratings to be acknowledged")

        cases = query(server.db, "SELECT id, rating_id, window, staff, score, scale, status, opened_at, due_date "
                                 "FROM cases")
        assert len(cases) == 1, cases
        case_id, rating_id, window, staff, score, scale, status, opened_at, due = cases[0]
        assert (rating_id, window, score, scale, status) == (bad, "w61", 2, 5, "open") and rating_id != good
        assert opened_at == query(server.db, "SELECT at FROM ratings WHERE event_id = ?", (bad,))[0][0]
        given = datetime.fromtimestamp(opened_at / 1000, ZoneInfo("Asia/Shanghai")).date()
        assert due == Calendar().add_working_days(given, 5).isoformat()
        trail = query(server.db, "SELECT user, action, detail FROM case_log WHERE case_id = ?", (case_id,))
        assert [(user, action) for user, action, _ in trail] == [("system", "opened")]
        assert json.loads(trail[0][2]) == {"from": given.isoformat(), "days": 5, "due": due}
        assert staff == query(server.db, "SELECT staff FROM ratings WHERE event_id = ?", (bad,))[0][0]

        # the kiosk sends the same rating again (its ack lost): stored once, one case
        # the same rating again, as a kiosk whose ack was lost sends it; the broker hands it to the collector
        # before the next rating, so once that one's case is there the resend was handled
        payload = query(server.db, "SELECT payload FROM events WHERE id = ?", (bad,))[0][0]
        publish.single("ceval/v1/k-case/event", payload.encode(), qos=1, hostname=broker.host, port=broker.port)
        another = rate(kiosk, 1)
        wait_for(lambda: len(query(server.db, "SELECT 1 FROM cases")) == 2, 15, "the second bad rating's case")
        assert query(server.db, "SELECT count(*), count(DISTINCT rating_id) FROM cases") == [(2, 2)]
        assert query(server.db, "SELECT count(*) FROM ratings") == [(3,)]
        assert query(server.db, "SELECT rating_id FROM cases ORDER BY id") == [(bad,), (another,)]
    finally:
        kiosk.stop()
        server.stop()
