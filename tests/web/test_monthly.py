"""The monthly report in real Chromium: printed to PDF it is one cover page and one page per window."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.clock import SystemClock

from ..helpers import ServerProcess, ceval
from ..server.events import event, msg
from .login import log_in

WINDOWS = {"w61": [5, 5, 4, 2, 1, 5], "w62": [4, 4, 3, 5], "w63": [5, 2, 1, 1, 3]}


def last_month() -> date:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def seed(db, month: date) -> None:
    """Ratings, an absence and a comment at three windows, on days of `month`."""
    store = Store(open_db(db))
    batch = []
    for window, scores in WINDOWS.items():
        items = [{"score": s, "ts": f"{month:%Y-%m}-{day + 3:02d}T10:00:00.000+08:00",
                  **({"reasons": ["wait"]} if s <= 2 else {})} for day, s in enumerate(scores)]
        items += [{"type": "presence", "state": "away", "ts": f"{month:%Y-%m}-10T14:00:00.000+08:00"},
                  {"type": "presence", "state": "present", "ts": f"{month:%Y-%m}-10T14:20:00.000+08:00"},
                  {"type": "feedback", "text": "请多设几个窗口", "ts": f"{month:%Y-%m}-11T09:00:00.000+08:00"}]
        batch += [msg(event(seq, stream=f"stream-{window}", window=window, **item), device="k" + window[1:])
                  for seq, item in enumerate(items, start=1)]
    Ingestor(store, SystemClock()).handle(batch)
    store.settings.set_min_sample(1)  # how the rows rank and print; the minimum sample: tests/server/test_ranking.py
    store.db.close()


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF: the page objects, checked against the page tree's /Count."""
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf)
              + re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf)]
    assert counts and max(counts) == pages, (counts, pages)
    return pages


def test_the_monthly_report_prints_a_cover_and_a_page_per_window(page, tmp_path, broker):
    month = last_month()
    db = tmp_path / "ceval.sqlite3"
    seed(db, month)
    server = ServerProcess(db, broker.url).start()
    try:
        assert ceval("user", "add", "zhao", "--role", "manager", "--db", str(db),
                     input="manager pass\n").returncode == 0
        log_in(page, server, "zhao", "manager pass")
        expect(page.locator("header.top")).to_be_visible()
        page.goto(server.url + "/reports/monthly")  # the last full month by default
        expect(page.locator("#cover h1")).to_contain_text(f"{month.year} 年 {month.month} 月")
        expect(page.locator("section.window")).to_have_count(3)
        expect(page.locator("#ranking tbody tr")).to_have_count(3)
        # by the satisfied rate's Wilson lower bound: w62 3/4 (0.3006), w61 4/6 (0.3000), w63 1/5 (0.036)
        assert page.locator("#ranking tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.window)") == ["w62", "w61", "w63"]
        expect(page.locator("#cover b.total")).to_have_text("15")
        expect(page.locator("#window-w61 b.satisfied")).to_have_text("66.7%")
        expect(page.locator("#window-w61 svg.trend rect")).to_have_count(month_days(month))
        expect(page.get_by_role("button", name="打印")).to_be_visible()

        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("form.toolbar")).to_be_hidden()
        assert page.evaluate("getComputedStyle(document.querySelector('section.window')).breakAfter") == "page"
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        assert pdf.startswith(b"%PDF")
        assert pdf_pages(pdf) == 1 + len(WINDOWS)
    finally:
        server.stop()


def month_days(month: date) -> int:
    return ((month.replace(day=28) + timedelta(days=4)).replace(day=1) - month).days
