"""The registry in real Chromium: an admin adds a hall with opening hours, confirms a new kiosk at a window,
and adds a clerk."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from device.runtime import KioskRuntime
from shared.pins import verify_pin

from ..helpers import ServerProcess, ceval, kiosk_settings, query, rate, wait_for
from .login import log_in


@pytest.mark.slow
def test_an_admin_registers_a_hall_a_kiosk_and_a_clerk(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-new", "w61"))
    try:
        assert ceval("user", "add", "root", "--role", "admin", "--db", str(server.db),
                     input="admin pass\n").returncode == 0
        kiosk.start()
        rate(kiosk, 4)  # a kiosk nobody registered yet: its rating is kept, the kiosk waits for confirmation
        wait_for(lambda: not kiosk.outbox.count(), 10, "the rating to be stored")
        wait_for(lambda: query(server.db, "SELECT outbox FROM devices WHERE device = 'k-new'") == [(0,)], 10,
                 "the kiosk's status after the ack")  # its last word until something changes
        log_in(page, server, "root", "admin pass")

        # a hall with opening hours; a bad day first
        page.goto(server.url + "/admin/sites")
        page.fill("#site", "hq")
        page.fill("#name", "市政务服务中心")
        for day in range(1, 6):
            page.fill(f"#hours_{day}", "09:00-12:00, 13:30-17:00")
        page.fill("#hours_6", "9点-12点")
        page.check("input[name=public]")
        page.click("#site-form button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text("星期六：“9点-12点”不是时段")
        expect(page.locator("#hours_1")).to_have_value("09:00-12:00, 13:30-17:00")  # nothing typed is lost
        page.fill("#hours_6", "09:00-12:00")
        page.click("#site-form button[type=submit]")
        row = page.locator('tr[data-site="hq"]')
        expect(row.locator("td.hours")).to_have_text("周一至周五 09:00-12:00, 13:30-17:00；周六 09:00-12:00")
        expect(row.locator("td.public")).to_have_text("公开")

        # the kiosk's window into the hall, and a window named before its kiosk comes
        page.click("nav.registry >> text=窗口")
        page.fill("#window", "w62")
        page.fill("#title", "综合受理窗口")
        page.select_option("#new-site", "hq")
        page.click("#window-form button[type=submit]")
        expect(page.get_by_role("status")).to_contain_text("已添加窗口 w62")
        w61 = page.locator('tr[data-window="w61"]')
        w61.locator("select[name=site]").select_option("hq")
        w61.locator("button").click()
        expect(page.get_by_role("status")).to_contain_text("已保存窗口 w61")

        # the new kiosk is waiting for confirmation: confirm it at the new window
        page.click("nav.registry >> text=设备登记")
        waiting = page.locator('#unconfirmed tr[data-device="k-new"]')
        waiting.locator("input[name=window]").fill("w62")  # typed, or picked from the site's windows
        waiting.locator("button").click()
        expect(page.locator('#confirmed tr[data-device="k-new"] td.window')).to_have_text("综合受理窗口（w62）")
        expect(page.locator('#unconfirmed tr[data-device="k-new"]')).to_have_count(0)

        # a clerk with a PIN
        page.click("nav.registry >> text=工作人员")
        page.fill("#staff", "1024")
        page.fill("#name", "张三")
        page.select_option("#site", "hq")
        page.fill("#pin", "246810")
        page.click("#clerk-form button[type=submit]")
        expect(page.locator('tr[data-staff="1024"] td.pin')).to_have_text("已设置")

        db = server.db
        (hours,), = query(db, "SELECT hours FROM sites WHERE site = 'hq'")
        assert json.loads(hours)["6"] == [["09:00", "12:00"]] and "7" not in json.loads(hours)
        assert query(db, "SELECT window, confirmed FROM devices WHERE device = 'k-new'") == [("w62", 1)]
        assert query(db, "SELECT window, site FROM windows WHERE device = 'k-new'") == [("w62", "hq")]
        assert query(db, "SELECT window FROM ratings") == [("w61",)], "its rating stays with the window it was given at"
        (name, site, pin_hash, active), = query(db, "SELECT name, site, pin_hash, active FROM staff "
                                                    "WHERE staff = '1024'")
        assert (name, site, active) == ("张三", "hq", 1) and verify_pin("246810", pin_hash)
    finally:
        kiosk.stop()
        server.stop()
