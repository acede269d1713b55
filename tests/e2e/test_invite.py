"""A window's business system binds a rating to a case number (办件编号), end to end.

Real Mosquitto, the real `ceval server` process, a real kiosk runtime: the invite posted to the API
reaches the kiosk, the kiosk opens its buttons, and the rating pressed there is stored with the case.
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

from device import screens
from device.runtime import KioskRuntime

from ..helpers import ServerProcess, ceval, kiosk_settings, query, rate, wait_for

CASE = "370102-2026-000123"


def post_invite(server: ServerProcess, token: str, window: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{server.url}/api/v1/windows/{window}/invite", method="POST",
                                     data=json.dumps(body).encode(), headers={
                                         "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def exported(server: ServerProcess) -> list[dict]:
    """What a manager downloads as the GB/T 39046 export (JSON) of today, logged in through the web app."""
    added = ceval("user", "add", "exporter", "--role", "manager", "--db", str(server.db), input="exporter pw\n")
    assert added.returncode == 0, added.stderr
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{server.url}/login", timeout=10) as page:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())[1]
    form = urllib.parse.urlencode({"username": "exporter", "password": "exporter pw", "csrf_token": csrf}).encode()
    browser.open(f"{server.url}/login", form, timeout=10).close()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    with browser.open(f"{server.url}/exports/gbt39046.json?from={today}&to={today}", timeout=10) as download:
        assert download.status == 200
        return json.loads(download.read())


def test_a_case_number_posted_to_the_api_is_stored_with_the_rating_pressed_at_the_kiosk(tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-invite", "w61", invite_mode=True,
                                        invite_seconds=30.0))
    try:
        token = server.token()
        kiosk.start()
        wait_for(lambda: query(server.db, "SELECT online FROM devices WHERE device = 'k-invite'") == [(1,)], 15,
                 "the kiosk online at the server")
        status, body = post_invite(server, token, "w61", {"case": CASE})
        assert status == 409, "not confirmed yet: no kiosk to invite"

        added = ceval("device", "add", "k-invite", "--window", "w61", "--db", str(server.db))
        assert added.returncode == 0, added.stderr
        assert kiosk.kiosk.shown == screens.IDLE
        started = time.monotonic()
        status, body = post_invite(server, token, "w61", {"case": CASE})
        assert status == 202, body
        assert (body["window"], body["device"], body["case"]) == ("w61", "k-invite", CASE)

        wait_for(lambda: kiosk.kiosk.case == CASE, 5, "the invite on the kiosk")
        assert time.monotonic() - started < 3.0, "an invite reaches its kiosk within a second or so"
        assert kiosk.kiosk.shown == screens.READY
        wait_for(lambda: query(server.db, "SELECT sent_at FROM invites WHERE id = ?", (body["id"],))[0][0], 5,
                 "the invite recorded as sent")

        rating_id = rate(kiosk, 2, reasons=["slow"])
        wait_for(lambda: query(server.db, "SELECT 1 FROM ratings WHERE event_id = ?", (rating_id,)), 10,
                 "the rating stored")
        assert query(server.db, "SELECT window, score, scale, reasons, case_no FROM ratings WHERE event_id = ?",
                     (rating_id,)) == [("w61", 2, 5, '["slow"]', CASE)]
        stored = json.loads(query(server.db, "SELECT payload FROM events WHERE id = ?", (rating_id,))[0][0])
        assert stored["case"] == CASE

        # exported in the layout of GB/T 39046 table 9: 不满意 is code 4 there and 2 in the provincial interfaces
        record = next(r for r in exported(server) if r["rating_id"] == rating_id)
        assert (record["case_no"], record["level"], record["level_code"], record["provincial_code"]) == (
            CASE, "不满意", 4, 2)

        # the next customer, invited by the clerk's own 请评价, gives a rating without a case
        wait_for(lambda: kiosk.act(kiosk.kiosk.tick) or kiosk.kiosk.shown == screens.IDLE, 5, "the kiosk at rest")
        assert kiosk.act(kiosk.kiosk.invite)
        plain_id = rate(kiosk, 5)
        wait_for(lambda: query(server.db, "SELECT 1 FROM ratings WHERE event_id = ?", (plain_id,)), 10,
                 "the second rating stored")
        assert query(server.db, "SELECT case_no FROM ratings WHERE event_id = ?", (plain_id,)) == [(None,)]
        assert "rejected" not in "".join(
            line for line in server.log.read_text().splitlines() if "invite" in line), "no echo is ingested"
        assert query(server.db, "SELECT count(*) FROM rejects") == [(0,)]
    finally:
        kiosk.stop()
        server.stop()
