"""The clerk report and the comparison in real Chromium: the clerk's chart is drawn, a header click sorts."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.clock import SystemClock
from shared.timefmt import format_ts

from ..helpers import ServerProcess, ceval
from ..server.events import event, msg
from .test_board import _keep, log_in

TZ = ZoneInfo("Asia/Shanghai")
HOURS = json.dumps({str(day): [["08:00", "12:00"], ["13:00", "18:00"]] for day in range(1, 8)})


def seed(db_path) -> tuple[str, str]:
    """Six days of ratings by three clerks at three windows, reasons, a comment, an absence, a roster;
    returns the range."""
    store = Store(open_db(str(db_path)))
    now = datetime.now(TZ)
    messages, seqs = [], {}
    plan = [("k-a", "w51", "1024", [5, 4, 5, 1]), ("k-b", "w52", "2048", [3, 5]), ("k-c", "w53", "3072", [2, 2, 5])]

    def add(device, window, staff, moment, **fields):
        seq = seqs[device] = seqs.get(device, 0) + 1
        messages.append(msg(event(seq, stream=f"stream-{device}", window=window, staff=staff, ts=format_ts(moment),
                                  **fields), device=device))

    for device, window, staff, scores in plan:
        add(device, window, staff, now - timedelta(minutes=1), score=scores[0])
        for day in range(1, 6):
            morning = datetime.combine(now.date() - timedelta(days=day), time(9, 10), TZ)
            for n, score in enumerate(scores):
                if (day + n) % 3 != 2:
                    add(device, window, staff, morning + timedelta(hours=2 * n, minutes=7 * day), score=score,
                        **({"reasons": ["slow", "unclear"][:day % 2 + 1]} if score <= 2 else {}))
    yesterday = datetime.combine(now.date() - timedelta(days=1), time(10, 0), TZ)
    add("k-a", "w51", "1024", yesterday, type="feedback", text="办理很快，讲解也清楚，谢谢！")
    add("k-b", "w52", "2048", yesterday, type="presence", state="away")
    add("k-b", "w52", "2048", yesterday + timedelta(minutes=40), type="presence", state="present")
    Ingestor(store, SystemClock()).handle(messages)
    store.db["sites"].insert({"site": "hall", "name": "政务服务中心", "timezone": "Asia/Shanghai", "hours": HOURS})
    store.db.execute("UPDATE windows SET site = 'hall'")
    store.db["staff"].insert_all([{"staff": "1024", "name": "王芳", "site": "hall"},
                                  {"staff": "2048", "name": "李雷", "site": "hall"},
                                  {"staff": "3072", "name": "赵敏", "site": "hall"}])
    store.db.conn.commit()
    store.db.close()
    return (now.date() - timedelta(days=5)).isoformat(), now.date().isoformat()


def test_the_clerk_report_draws_its_chart_and_the_comparison_sorts_on_click(page, tmp_path, broker):
    db = tmp_path / "ceval.sqlite3"
    first, last = seed(db)
    assert ceval("user", "add", "zhou", "--role", "manager", "--db", str(db), input="manager pass\n").returncode == 0
    server = ServerProcess(db, broker.url).start()
    try:
        log_in(page, server, "zhou", "manager pass")
        page.goto(f"{server.url}/staff/1024?from={first}&to={last}")
        expect(page.locator("h1")).to_contain_text("王芳")
        expect(page.locator("#per-window tbody tr")).to_have_count(1)
        total = int(page.locator("#figures").get_attribute("data-total"))
        assert total > 0
        expect(page.locator("#total")).to_have_text(str(total))
        page.wait_for_function("""() => {
            const canvas = document.getElementById('trend');
            const chart = window.Chart && Chart.getChart(canvas);
            if (!chart || chart.data.datasets[0].data.length !== 6) return false;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
            return false;
        }""", timeout=5000)
        _keep(page, "staff")

        page.goto(f"{server.url}/compare?from={first}&to={last}&by=staff")
        rows = page.locator("#compare tbody tr")
        expect(rows).to_have_count(3)
        ranked = [rows.nth(i).get_attribute("data-key") for i in range(3)]
        totals = {key: int(page.locator(f'tr[data-key="{key}"]').get_attribute("data-total")) for key in ranked}
        page.click('th a.sort[data-sort="total"]')  # most first
        expect(page.locator("#compare")).to_have_attribute("data-sort", "total")
        expect(page.locator("#compare")).to_have_attribute("data-order", "desc")
        by_total = sorted(totals, key=lambda k: (-totals[k], k))
        expect(rows.first).to_have_attribute("data-key", by_total[0])
        assert [rows.nth(i).get_attribute("data-key") for i in range(3)] == by_total
        page.click('th a.sort[data-sort="total"]')  # again: fewest first
        expect(page.locator("#compare")).to_have_attribute("data-order", "asc")
        assert [rows.nth(i).get_attribute("data-key") for i in range(3)] == sorted(totals, key=lambda k: (totals[k], k))
        page.click('nav.by a')  # to the windows, with their staffed share
        expect(page.locator("#compare")).to_have_attribute("data-by", "window")
        expect(page.locator('tr[data-key="w52"] td.staffed')).not_to_have_text("—")
        _keep(page, "compare")
        # at 1280 px the page never scrolls sideways, in either language; by default the table fits whole
        wide = "[document.documentElement.scrollWidth, document.querySelector('.table-area').scrollWidth]"
        for language in ("zh", "en"):
            page.goto(f"{server.url}/lang/{language}?next=/")
            for against, fits in (("previous", True), ("year", True), ("both", False)):
                page.goto(f"{server.url}/compare?from={first}&to={last}&vs={against}")
                width, table = page.evaluate(wide)
                assert width <= 1280 and (table <= 1280 - 64 or not fits), (language, against, width, table)
    finally:
        server.stop()
