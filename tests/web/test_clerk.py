"""A clerk signs in with staff number and PIN from the log-in page, in real Chromium, and reads their own
feedback, on a desktop and on a phone's screen."""
from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from shared.pins import hash_pin

from ..helpers import ServerProcess, write


def test_a_clerk_signs_in_and_reads_yesterdays_feedback(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    try:
        yesterday = int(time.time() * 1000) - 86_400_000
        write(server.db,
              ("INSERT INTO staff (staff, name, pin_hash, active, session_token) VALUES ('1024', '张三', ?, 1, 'x')",
               hash_pin("24681357")),
              ("INSERT INTO ratings (event_id, window, staff, at, score, scale, reasons) "
               "VALUES ('r1', 'w01', '1024', ?, 2, 5, ?)", yesterday, json.dumps(["slow"])),
              ("INSERT INTO feedback (event_id, window, staff, at, text, rating_id) "
               "VALUES ('f1', 'w01', '1024', ?, '希望能快一点', 'r1')", yesterday))
        page.goto(server.url + "/login")
        page.click("text=窗口工作人员用工号和 PIN 码登录")
        page.fill("#staff", "1024")
        page.fill("#pin", "00000000")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_have_text("工号或 PIN 码不正确。")
        page.fill("#pin", "24681357")
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("我的评价")
        expect(page.locator("#total")).to_have_text("1")
        expect(page.locator("#comments")).to_contain_text("希望能快一点")
        expect(page.locator("header.top > a")).to_have_count(1)  # only 我的评价: no manager's page offered
        page.screenshot(path=str(tmp_path / "clerk-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing runs off a phone's side"
        page.screenshot(path=str(tmp_path / "clerk-phone.png"), full_page=True)
        page.click("header.top button")
        expect(page.locator("h1")).to_contain_text("登录")
    finally:
        server.stop()
