"""The registry reaches a real kiosk through the real broker; its QR link opens the phone form."""
from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import urllib.parse
import urllib.request

from device.runtime import KioskRuntime
from shared.pins import hash_pin

from ..helpers import ServerProcess, kiosk_settings, query, wait_for


def register(db, device: str, window: str) -> None:
    """What a manager does in the registry: name the window, put it in a site with a clerk, confirm the kiosk."""
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        with conn:
            conn.execute("INSERT INTO sites (site, name) VALUES ('hall-e2e', '市民服务中心')")
            conn.execute("INSERT INTO staff (staff, name, site, pin_hash) VALUES ('1024', '张敏', 'hall-e2e', ?)",
                         (hash_pin("246810"),))
            conn.execute("UPDATE windows SET title = '社保窗口', site = 'hall-e2e' WHERE window = ?", (window,))
            conn.execute("UPDATE devices SET confirmed = 1 WHERE device = ?", (device,))
    finally:
        conn.close()


def test_a_registered_title_reaches_the_kiosk_and_its_qr_link_takes_a_comment(tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url)
    server.extra = ("--public-url", server.url)
    server.start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-cfg", "w51"))
    try:
        kiosk.start()
        wait_for(lambda: query(server.db, "SELECT 1 FROM devices d JOIN windows w ON w.device = d.device "
                                          "WHERE d.device = 'k-cfg' AND d.window = 'w51'"), 10, "the kiosk's status")
        assert kiosk.kiosk.config.title == "51号窗口" and kiosk.kiosk.config.comment_url is None

        register(server.db, "k-cfg", "w51")
        wait_for(lambda: kiosk.kiosk.config.title == "社保窗口", 2.0, "the new title on the kiosk")
        config = kiosk.kiosk.config
        assert [(c["id"], c["name"]) for c in config.roster] == [("1024", "张敏")]
        assert config.comment_url.startswith(f"{server.url}/c/w51?t=")
        assert (tmp_path / "kiosk" / "config.json").read_bytes() == config.to_json(), "kept for the next start"
        wait_for(lambda: query(server.db, "SELECT config_sent FROM devices WHERE device = 'k-cfg'")[0][0], 5,
                 "the config to be recorded as sent")

        # a customer scans the QR code: the phone form opens, and a comment goes in
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(config.comment_url, timeout=10) as page:
            assert page.status == 200
            html = page.read().decode()
        assert "社保窗口" in html
        form = {name: re.search(rf'name="{name}" value="([^"]*)"', html)[1] for name in ("csrf_token", "t")}
        form["text"] = "扫码留言：窗口服务很耐心"
        with browser.open(f"{server.url}/c/w51", urllib.parse.urlencode(form).encode(), timeout=10) as answer:
            assert answer.status == 200 and answer.url.endswith("/c/w51/thanks")
            assert "感谢您的留言" in answer.read().decode()
        assert query(server.db, "SELECT window, text, channel FROM feedback") == [
            ("w51", "扫码留言：窗口服务很耐心", "phone")]
    finally:
        kiosk.stop()
        server.stop()
