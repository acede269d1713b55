"""The hall board in real Chromium: log in, and watch a window go away within 5 s of its kiosk saying so."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from device.runtime import KioskRuntime

from ..helpers import ServerProcess, ceval, csv_sections, kiosk_settings, rate, wait_for
from .login import log_in


@pytest.mark.slow
def test_the_board_shows_a_window_going_away_within_5_s(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-board", "w41"))
    try:
        assert ceval("user", "add", "zhang", "--role", "manager", "--db", str(server.db),
                     input="correct horse\n").returncode == 0
        kiosk.start()
        rate(kiosk, 5)
        wait_for(lambda: not kiosk.outbox.count(), 10, "the rating to be stored")

        log_in(page, server, "zhang", "wrong password")
        expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
        log_in(page, server, "zhang", "correct horse")
        row = page.locator('tr[data-window="w41"]')
        expect(row.locator("td.state")).to_have_text("无人值守")
        expect(row.locator("td.total")).to_have_text("1")

        kiosk.act(kiosk.kiosk.sign, True)  # the clerk puts out the away sign
        expect(row.locator("td.state")).to_have_text("离岗 0 分钟", timeout=5000)
    finally:
        kiosk.stop()
        server.stop()


def test_a_comment_with_a_script_tag_shows_as_text(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-xss", "w42"))
    try:
        ceval("user", "add", "li", "--role", "viewer", "--db", str(server.db), input="viewer pass\n")
        kiosk.start()
        rate(kiosk, 2, ["slow"])
        kiosk.act(kiosk.kiosk.open_comment)
        kiosk.act(kiosk.kiosk.comment, "<script>window.pwned = 1</script>等太久")
        wait_for(lambda: not kiosk.outbox.count(), 10, "the comment to be stored")
        log_in(page, server, "li", "viewer pass")
        page.goto(server.url + "/comments")
        cell = page.locator("#comments td.text").first
        expect(cell).to_have_text("<script>window.pwned = 1</script>等太久")
        assert page.evaluate("window.pwned") is None
        expect(page.locator("#comments tbody tr").first).to_contain_text("2/5")
    finally:
        kiosk.stop()
        server.stop()


@pytest.mark.slow
def test_a_window_report_draws_its_chart_and_exports_csv(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-report", "w43"))
    try:
        ceval("user", "add", "wang", "--role", "manager", "--db", str(server.db), input="manager pass\n")
        kiosk.start()
        for score in (5, 4, 5, 1):
            rate(kiosk, score)
        wait_for(lambda: not kiosk.outbox.count(), 10, "the ratings to be stored")
        log_in(page, server, "wang", "manager pass")
        page.click('tr[data-window="w43"] a')
        expect(page.locator("#total")).to_have_text("4")
        expect(page.locator("#satisfied")).to_have_text("75.0%")
        page.wait_for_function("""() => {
            const canvas = document.getElementById('trend');
            const chart = window.Chart && Chart.getChart(canvas);
            if (!chart) return false;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
            return false;
        }""", timeout=5000)
        with page.expect_download() as download:
            page.click("a.csv")
        tables = csv_sections(Path(download.value.path()).read_text(encoding="utf-8-sig"))
        assert list(tables) == ["每日", "分工号", "离岗记录", "不满意原因", "留言", "疑似违规"]  # every table, as the clerk report's
        days = tables["每日"]
        assert days[0] == ["日期", "评价数", "5分", "4分", "3分", "2分", "1分", "满意率", "满意指数"]
        today = [row for row in days[1:] if row[1] != "0"]
        assert len(today) == 1 and today[0][1:] == ["4", "2", "1", "0", "0", "1", "0.75", "68.8"]
    finally:
        kiosk.stop()
        server.stop()
