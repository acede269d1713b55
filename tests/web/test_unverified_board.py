"""The hall board in real Chromium marks a clerk on duty whose staff number the window's site's roster lacks,
also when it changes after the page was loaded (the board refreshes itself from /board.json)."""
from __future__ import annotations

from playwright.sync_api import expect

from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.clock import SystemClock
from shared.timefmt import format_ts

from ..helpers import ServerProcess, ceval
from ..server.events import event, msg
from .login import log_in


def test_the_board_marks_an_unverified_clerk_on_duty_when_it_refreshes(page, tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    store = Store(open_db(server.db))
    clock = SystemClock()
    try:
        store.registry.create_site("a", "A 厅", "Asia/Shanghai", "{}", False)
        store.registry.create_window("w61", "61号窗口", "a")
        store.registry.create_clerk("1001", "甲", "a", None)
        store.registry.assign_device("k61", "w61", 0)
        ingest = Ingestor(store, clock)
        ingest.handle([msg(event(1, type="staff", window="w61", staff="1001", ts=format_ts(clock.now())),
                           device="k61")])
        assert ceval("user", "add", "zhang", "--role", "manager", "--db", str(server.db),
                     input="correct horse\n").returncode == 0
        log_in(page, server, "zhang", "correct horse")
        staff = page.locator('tr[data-window="w61"] td.staff')
        expect(staff).to_have_text("甲1001")
        expect(staff.locator(".unverified")).to_have_count(0)

        ingest.handle([msg(event(2, type="staff", window="w61", staff="9999", ts=format_ts(clock.now())),
                           device="k61")])  # a number no roster knows
        expect(staff).to_have_text("9999（未核实）", timeout=5000)
        expect(staff.locator(".unverified")).to_have_attribute("title", "不是该窗口所属大厅人员名册中的工号")
    finally:
        store.db.close()
        server.stop()
