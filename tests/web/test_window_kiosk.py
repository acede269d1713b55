"""A window's kiosk settings in real Chromium: from the windows list to the kiosk, through the form."""
from __future__ import annotations

import sqlite3

from playwright.sync_api import expect

from device.runtime import KioskRuntime
from shared.pins import hash_pin

from ..helpers import ServerProcess, ceval, kiosk_settings, query, wait_for
from .login import log_in


def register(db, device: str, window: str) -> None:
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        with conn:
            conn.execute("INSERT INTO sites (site, name) VALUES ('hall-w', '市民服务中心')")
            conn.executemany("INSERT INTO staff (staff, name, site, pin_hash) VALUES (?, ?, 'hall-w', ?)",
                             [("1024", "张敏", hash_pin("246810")), ("1031", "王磊", None)])
            conn.execute("UPDATE windows SET title = '社保窗口', site = 'hall-w' WHERE window = ?", (window,))
            conn.execute("UPDATE devices SET confirmed = 1 WHERE device = ?", (device,))
    finally:
        conn.close()


def test_a_manager_sets_the_kiosk_of_a_window(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-page", "w44"))
    try:
        assert ceval("user", "add", "zhang", "--role", "manager", "--sites", "hall-w", "--db", str(server.db),
                     input="correct horse\n").returncode == 0
        kiosk.start()
        wait_for(lambda: query(server.db, "SELECT 1 FROM windows WHERE window = 'w44' AND device = 'k-page'"), 10,
                 "the kiosk's window")
        register(server.db, "k-page", "w44")
        wait_for(lambda: kiosk.kiosk.config.title == "社保窗口", 5, "the registry on the kiosk")

        log_in(page, server, "zhang", "correct horse")
        page.goto(server.url + "/admin/windows")
        page.locator('tr[data-window="w44"] a.kiosk').click()
        expect(page.locator("h1")).to_have_text("评价器设置：社保窗口（w44）")
        five, three = page.locator('fieldset[data-scale="5"]'), page.locator('fieldset[data-scale="3"]')
        expect(five).to_be_visible()
        expect(three).to_be_hidden()
        expect(page.locator("#labels_5_3")).to_have_value("基本满意")

        page.check('input[name=scale][value="3"]')
        expect(five).to_be_hidden()
        expect(three).to_be_visible()
        expect(page.locator("#labels_3_3")).to_have_value("满意")
        page.fill("#labels_3_1", "有待改进")
        page.fill("#title", "社保 · 医保窗口")
        page.select_option("#clerk", "1024")
        page.check('input[name=language][value="en"]')
        page.fill("#away_text", "稍候片刻，马上回来")
        page.fill("#phrases", "办得很快\n材料一次讲清\n服务很耐心")
        sent_before = query(server.db, "SELECT config_sent FROM devices WHERE device = 'k-page'")[0][0]
        page.click("#kiosk-form button[type=submit]")
        expect(page.get_by_role("status")).to_contain_text("已保存窗口 w44 的评价器设置")

        wait_for(lambda: kiosk.kiosk.config.scale == 3, 2.0, "the kiosk to apply the settings")
        config = kiosk.kiosk.config
        assert (config.title, config.staff, config.language, config.away_text) == (
            "社保 · 医保窗口", {"id": "1024", "name": "张敏"}, "en", "稍候片刻，马上回来")
        assert config.labels == {"1": "有待改进", "2": "基本满意", "3": "满意"}
        assert config.phrases == ("办得很快", "材料一次讲清", "服务很耐心")

        # the kiosk can apply the new config before the broker's PUBACK reaches the collector, which records it then
        wait_for(lambda: query(server.db, "SELECT config_sent FROM devices WHERE device = 'k-page'")[0][0]
                 != sent_before, 5, "the send of the new settings to be recorded")
        page.reload()
        expect(page.locator("#delivery .sent")).to_have_text("已发送")
        expect(three).to_be_visible()

        page.fill("#reasons", "slow\n")  # a reason without its text is refused, and said so
        page.click("#kiosk-form button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text("原因第 1 行：请在代码后空一格写出原因文字")
        expect(page.locator("#title")).to_have_value("社保 · 医保窗口")
    finally:
        kiosk.stop()
        server.stop()
