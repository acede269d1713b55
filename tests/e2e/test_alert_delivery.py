"""Bad ratings pressed on a real kiosk, through the real broker, raise an alert in a real server process that
reaches a local webhook receiver and a local SMTP server; the same condition again stays one alert."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

from device.runtime import KioskRuntime
from server.domain.passwords import hash_password
from server.store import Store
from server.store.db import open_db

from ..helpers import ServerProcess, kiosk_settings, query, rate, wait_for
from ..receivers import SmtpReceiver, WebhookReceiver


def prepare(db) -> None:
    """What the admin set up: a rule "at least half of at least 4 ratings in 15 minutes unsatisfied",
    a webhook and a mailbox for every site, and a manager's account."""
    store = Store(open_db(db))
    try:
        store.alerts.create_alert_rule(None, "unsatisfied", {"minutes": 15, "min_ratings": 4, "share": 0.5})
        store.accounts.create_user("boss", hash_password("boss password"), "manager", None, 0)
    finally:
        store.db.close()


def add_targets(db, hook: str, mailbox: str) -> None:
    store = Store(open_db(db, migrate=False))
    try:
        store.alerts.create_alert_target(None, "webhook", hook)
        store.alerts.create_alert_target(None, "email", mailbox)
    finally:
        store.db.close()


def log_in(url: str):
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{url}/login", timeout=10) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())[1]
    form = urllib.parse.urlencode({"username": "boss", "password": "boss password", "csrf_token": token}).encode()
    browser.open(f"{url}/login", form, timeout=10).close()
    return browser


def test_an_alert_reaches_a_webhook_and_a_mailbox_once(tmp_path, broker):
    db = tmp_path / "ceval.sqlite3"
    prepare(db)
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        add_targets(db, hook.url("/alerts"), "duty@hall.example")
        server = ServerProcess(db, broker.url, env={
            "CEVAL_SMTP_HOST": "127.0.0.1", "CEVAL_SMTP_PORT": str(smtp.port), "CEVAL_SMTP_FROM": "ceval@hall.example",
            "CEVAL_ALERT_INTERVAL": "1", "CEVAL_DELIVERY_INTERVAL": "0.5"}).start()
        kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-alert", "w61"))
        try:
            kiosk.start()
            for score in (1, 2, 5, 1):  # three of four unsatisfied
                rate(kiosk, score)
            wait_for(lambda: hook.bodies() and smtp.messages, 30, "the alert at the webhook and in the mailbox")
            [body] = hook.bodies()
            alert = body["alert"]
            assert (alert["kind"], alert["window"], alert["count"]) == ("unsatisfied", "w61", 1)
            assert "4 条评价中 3 条差评" in alert["message"]
            [mail] = smtp.messages
            assert mail["To"] == "duty@hall.example" and mail["From"] == "ceval@hall.example"
            assert "差评集中" in mail["Subject"]
            assert "4 条评价中 3 条差评" in mail.get_content()

            # the same condition again: four more bad ratings
            for score in (1, 1, 2, 2):
                rate(kiosk, score)
            wait_for(lambda: query(db, "SELECT count FROM alerts") == [(2,)], 30, "the alert counted twice")
            assert query(db, "SELECT count(*) FROM alerts") == [(1,)]
            wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE status = 'pending'") == [(0,)], 15,
                     "no delivery left pending")
            assert query(db, "SELECT status, count(*) FROM deliveries GROUP BY status") == [("sent", 2)]
            assert len(hook.bodies()) == 1 and len(smtp.messages) == 1, "no second send of the same alert"

            # a manager sees it and acknowledges it
            browser = log_in(server.url)
            with browser.open(f"{server.url}/alerts", timeout=10) as page:
                html = page.read().decode()
            assert "未确认 1 条" in html and "已送达" in html
            token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
            form = urllib.parse.urlencode({"csrf_token": token, "alert_id": "1"}).encode()
            browser.open(f"{server.url}/alerts/ack", form, timeout=10).close()
            assert query(db, "SELECT acked_by FROM alerts") == [("boss",)]
        finally:
            kiosk.stop()
            server.stop()
