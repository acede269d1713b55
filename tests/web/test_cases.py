"""A bad-review case in real Chromium, from the kiosk's press to closing: assign, note, callback, verdict, close."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import paho.mqtt.publish as publish
from playwright.sync_api import expect

from device.runtime import KioskRuntime
from shared.contract import Event

from ..helpers import ServerProcess, ceval, kiosk_settings, query, rate, wait_for
from .login import log_in


def old_bad_rating(broker, days_ago: int) -> str:
    """A bad rating from another kiosk, given `days_ago` days ago (it was offline): its case is overdue."""
    ts = (datetime.now(UTC) - timedelta(days=days_ago)).astimezone(timezone(timedelta(hours=8)))
    event = Event(id="old-bad-rating-1", stream="stream-old-kiosk", seq=1, ts=ts.isoformat(timespec="milliseconds"),
                  window="w72", type="rating", staff=None, score=1, scale=5, reasons=("wait",))
    publish.single("ceval/v1/k-old/event", event.to_json(), qos=1, hostname=broker.host, port=broker.port)
    return event.id


def test_a_case_from_opening_to_closing(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-case-web", "w71"))
    try:
        assert ceval("user", "add", "zhao", "--role", "manager", "--db", str(server.db),
                     input="manager pass\n").returncode == 0
        kiosk.start()
        rating = rate(kiosk, 1, ["slow", "attitude"])
        kiosk.act(kiosk.kiosk.open_comment)
        kiosk.act(kiosk.kiosk.comment, "排队一个多小时，窗口还不耐烦")
        old = old_bad_rating(broker, 20)
        wait_for(lambda: not kiosk.outbox.count(), 10, "the rating and the comment to be stored")
        wait_for(lambda: len(query(server.db, "SELECT 1 FROM cases")) == 2, 10, "both cases to open")
        (case_id,) = query(server.db, "SELECT id FROM cases WHERE rating_id = ?", (rating,))[0]

        log_in(page, server, "zhao", "manager pass")
        page.goto(server.url + "/cases")
        expect(page.locator("#open-count b")).to_have_text("2")
        expect(page.locator("#overdue-count b")).to_have_text("1")
        (old_case,) = query(server.db, "SELECT id FROM cases WHERE rating_id = ?", (old,))[0]
        overdue = page.locator(f'tr[data-case="{old_case}"]')
        expect(overdue).to_have_class("overdue")
        expect(overdue.locator("td.left")).to_contain_text("逾期")
        background = overdue.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
        assert background == "rgb(253, 236, 234)", "an overdue case stands out in red"

        page.click(f'tr[data-case="{case_id}"] a')
        expect(page.locator("#rating")).to_have_text("1/5 非常不满意")
        expect(page.locator("#reasons")).to_have_text("办理时间长、态度不好")
        expect(page.locator("#comments")).to_contain_text("排队一个多小时，窗口还不耐烦")
        expect(page.locator("#status")).to_have_text("未办结")

        page.select_option("#assign-form select", "zhao")
        page.click("#assign-form button")
        expect(page.locator("#assignee")).to_have_text("zhao")
        page.fill("#note-form textarea", "已调取录像，情况属实，已对窗口人员批评教育")
        page.click("#note-form button")
        expect(page.get_by_role("status")).to_have_text("已添加备注。")

        page.click("#close-form button")  # too early: no callback, no verdict
        expect(page.get_by_role("alert")).to_contain_text("请先记录回访和群众对整改的评价")
        expect(page.locator("#status")).to_have_text("未办结")

        page.fill("#callback-form textarea", "电话回访，群众表示理解")
        page.click("#callback-form button")
        expect(page.locator("#callback")).not_to_have_text("未回访")
        page.check('#verdict-form input[value="satisfied"]')
        page.click("#verdict-form button")
        expect(page.locator("#verdict")).to_have_text("满意")
        page.click("#close-form button")
        expect(page.locator("#status")).to_have_text("已办结")
        expect(page.locator("#trail tbody tr")).to_have_count(6)
        expect(page.locator("#trail tbody tr").last).to_contain_text("办结")
        expect(page.locator("#reopen-form")).to_be_visible()

        assert query(server.db, "SELECT status, assignee, verdict FROM cases WHERE id = ?", (case_id,)) == [
            ("closed", "zhao", "satisfied")]
        assert [a for (a,) in query(server.db, "SELECT action FROM case_log WHERE case_id = ? ORDER BY id",
                                    (case_id,))] == ["opened", "assigned", "note", "callback", "verdict", "closed"]
        page.goto(server.url + "/cases")
        expect(page.locator("#open-count b")).to_have_text("1")
    finally:
        kiosk.stop()
        server.stop()


def test_the_admin_uploads_next_years_holidays(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    try:
        assert ceval("user", "add", "root", "--role", "admin", "--db", str(server.db),
                     input="admin pass\n").returncode == 0
        log_in(page, server, "root", "admin pass")
        page.goto(server.url + "/admin/holidays?year=2027")
        expect(page.locator("#no-official")).to_contain_text("还没有 2027 年的官方节假日安排")
        expect(page.locator('td[data-day="2027-01-01"]')).not_to_have_class("off")
        holidays = tmp_path / "2027.csv"
        holidays.write_text("# 2027 年部分安排\n2027-01-01,off,元旦\n2027-02-06,work,春节调休\n"
                            + "".join(f"2027-02-{d:02d},off,春节\n" for d in range(10, 17)), encoding="utf-8")
        page.set_input_files("#upload-form input[type=file]", str(holidays))
        page.click("#upload-form button")
        expect(page.get_by_role("status").first).to_have_text("已导入 9 条节假日安排。")
        expect(page.locator('td[data-day="2027-01-01"]')).to_have_class("off corrected")
        expect(page.locator('td[data-day="2027-02-06"]')).to_have_class("work corrected")
        expect(page.locator("#corrections tbody tr")).to_have_count(9)
        page.locator('#corrections tr[data-day="2027-02-06"] button').click()
        expect(page.locator("#corrections tbody tr")).to_have_count(8)
        expect(page.locator('td[data-day="2027-02-06"]')).to_have_class("weekend")
    finally:
        server.stop()
