"""The pages without a log-in, in real Chromium: the phone comment form at a phone's size, and
the public board on a lobby screen refreshing itself."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from device.runtime import KioskRuntime
from server.domain.comment_token import make_token
from server.ops.secret import instance_secret

from ..helpers import ServerProcess, kiosk_settings, query, rate, wait_for, write


def test_the_phone_form_at_a_phones_size_counts_and_sends(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    try:
        write(server.db, ("INSERT INTO windows (window, title, staff) VALUES ('w61', '6号窗口 · 不动产登记', '1024')",))
        token = make_token(instance_secret(server.db), "w61", datetime.now(UTC))
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{server.url}/c/w61?t={token}")
        expect(page.locator("h1")).to_contain_text("6号窗口 · 不动产登记")
        expect(page.locator("#count")).to_have_text("0 / 500")
        page.fill("#text", "等候区的座位太少了，\n希望多放几把椅子。")
        expect(page.locator("#count")).to_have_text("20 / 500")
        box = page.locator("button.send").bounding_box()
        assert box["width"] > 300 and box["height"] >= 44, "a thumb-sized button across the screen"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing runs off the side"
        page.click("button.send")
        expect(page.locator("h1")).to_have_text("感谢您的留言")
        assert query(server.db, "SELECT window, staff, text, channel FROM feedback") == [
            ("w61", "1024", "等候区的座位太少了，\n希望多放几把椅子。", "phone")]

        page.goto(f"{server.url}/c/w61?t={token}x")
        expect(page.locator(".error")).to_contain_text("请重新扫描")
    finally:
        server.stop()


@pytest.mark.slow
def test_the_public_board_shows_the_figures_and_follows_new_ratings(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosks = [KioskRuntime(kiosk_settings(tmp_path / name, broker.url, name, window))
              for name, window in (("k-pub1", "w71"), ("k-pub2", "w72"), ("k-pub3", "w73"))]
    try:
        for kiosk in kiosks:
            kiosk.start()
        for kiosk, scores in zip(kiosks, ((5, 5, 4, 2), (5, 4), ())):
            for score in scores:
                rate(kiosk, score)
        kiosks[0].act(kiosks[0].kiosk.open_comment)
        kiosks[0].act(kiosks[0].kiosk.comment, "不该出现在公示上的留言")
        wait_for(lambda: not any(k.outbox.count() for k in kiosks), 10, "the ratings to be stored")
        wait_for(lambda: query(server.db, "SELECT count(*) FROM windows WHERE window IN ('w71','w72','w73')")[0][0]
                 == 3, 10, "the windows")
        write(server.db,
              ("INSERT INTO sites (site, name, public) VALUES ('hall-7', '市民服务中心', 1)",),
              ("INSERT INTO staff (staff, name, site) VALUES ('1024', '张敏', 'hall-7'), ('1031', '王磊', 'hall-7')",),
              ("UPDATE windows SET site = 'hall-7'",),
              ("UPDATE windows SET title = '1号窗口 · 社保', staff = '1024' WHERE window = 'w71'",),
              ("UPDATE windows SET title = '2号窗口 · 医保', staff = '1031' WHERE window = 'w72'",),
              ("UPDATE windows SET title = '3号窗口 · 公积金', staff = NULL WHERE window = 'w73'",))
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(f"{server.url}/public/hall-7?refresh=5")
        first = page.locator('section[data-window="w71"]')
        expect(first.locator(".clerk")).to_have_text("张敏")
        expect(first.locator(".today-rate")).to_have_text("75.0%")
        expect(first.locator(".today-total")).to_have_text("4 次评价")
        expect(first.locator(".today-index")).to_have_text("75.0")
        expect(page.locator('section[data-window="w73"] .today-rate')).to_have_text("—")
        assert "不该出现在公示上的留言" not in page.content()

        rate(kiosks[2], 5)  # the board fetches its figures again by itself
        third = page.locator('section[data-window="w73"]')
        expect(third.locator(".today-rate")).to_have_text("100.0%", timeout=12000)
        expect(third.locator(".month-total")).to_have_text("1 次评价")
        expect(third.locator(".title")).to_have_text("3号窗口 · 公积金")
        expect(first.locator(".clerk")).to_have_text("张敏")
    finally:
        for kiosk in kiosks:
            kiosk.stop()
        server.stop()
