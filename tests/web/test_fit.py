"""Every main page fits a 1280 px screen in Chinese and in English: nothing wider than the window, the navigation
on one line (issue 12), no button's label on two lines, no table past the page's margin. One browser session over
a seeded hall, as a manager sees it (alerts too)."""
from __future__ import annotations

import pytest

from server.store import Store
from server.store.db import open_db

from ..helpers import ServerProcess, ceval
from .login import log_in
from .six_days import seed

PAGES = ["/", "/compare", "/compare?by=staff", "/comments", "/cases", "/appeals", "/alerts", "/reports/monthly",
         "/reports/runs", "/exports/gbt39046", "/fleet", "/admin", "/admin/windows", "/admin/staff",
         "/admin/devices", "/admin/alerts", "/windows/w51", "/staff/1024", "/no-such-page"]


@pytest.mark.slow
def test_the_main_pages_fit_1280_px_in_both_languages(page, tmp_path, broker):
    db = tmp_path / "ceval.sqlite3"
    seed(db)
    store = Store(open_db(str(db)))
    for n in range(6):  # six unacknowledged alerts: the badge is in the navigation
        store.alerts.insert_alert(None, "offline", "hall", "w51", "k-a", f"offline-{n}", "评价器 k-a 离线已 12 分钟", 0)
    store.db.conn.commit()
    store.db.close()
    assert ceval("user", "add", "wang", "--role", "admin", "--db", str(db), input="admin pass\n").returncode == 0
    server = ServerProcess(db, broker.url).start()
    try:
        page.set_viewport_size({"width": 1280, "height": 800})
        log_in(page, server, "wang", "admin pass")
        for lang in ("zh", "en"):
            page.goto(f"{server.url}/lang/{lang}?next=/")
            for path in PAGES:
                page.goto(server.url + path)
                width, header, line, badge = page.evaluate("""() => {
                    const h = document.querySelector('header.top'), a = h.querySelector('a');
                    return [document.documentElement.scrollWidth, h.getBoundingClientRect().height,
                            a.getBoundingClientRect().height, h.querySelector('.badge')?.textContent];
                }""")
                assert width <= 1280, (lang, path, width)
                assert header < 2 * line + 16, (lang, path, header, line)  # one line of links and its padding
                assert badge == "6", (lang, path, badge)
                wrapped = page.evaluate("""() => [...document.querySelectorAll('button')].filter(b => {
                    const words = document.createRange();
                    words.selectNodeContents(b);
                    return words.getClientRects().length > 1;  // a line box for each line its label takes
                }).map(b => b.textContent.trim())""")
                assert wrapped == [], (lang, path, wrapped)  # 确认 in the alerts' last column took two once
                spill = page.evaluate("""() => {
                    const main = document.querySelector('main');
                    const edge = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
                    return Math.max(0, ...[...main.querySelectorAll('table')].map(t => t.getBoundingClientRect().right - edge));
                }""")
                assert spill <= 1, (lang, path, spill)  # no table past the page's margin (the alerts' was, in English)
    finally:
        server.stop()
