"""The clerk report and the comparison in real Chromium: the clerk's chart is drawn, a header click sorts."""
from __future__ import annotations

from playwright.sync_api import expect

from ..helpers import ServerProcess, ceval
from .login import log_in
from .six_days import seed


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
