"""The printable monthly report and its downloads: who may see it, which month, which windows, which figures."""
from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import openpyxl
import pytest

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import session

# October 2026 (the month before the clock's): window -> scores; w05 has no ratings at all
OCTOBER = {"w01": [5, 5, 4, 1], "w02": [5, 4, 2, 2], "w03": [5, 5, 5, 5], "w04": [4, 4, 5, 1]}
SITES = {"w01": "hall-a", "w02": "hall-a", "w04": "hall-a", "w05": "hall-a", "w03": "hall-b"}


def messages(window: str, items: list[dict]) -> list:
    device = "k" + window[1:]
    return [msg(event(seq, stream=f"stream-{window}", window=window, **item), device=device)
            for seq, item in enumerate(items, start=1)]


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.settings.set_min_sample(1)  # how rows rank; the minimum sample itself: test_ranking.py
    batch = []
    for window, scores in OCTOBER.items():
        items = [{"score": score, "ts": f"2026-10-{day + 5:02d}T10:00:00.000+08:00", "id": f"rating-{window}-{day}",
                  **({"reasons": ["slow", "attitude"]} if score <= 2 else {})}
                 for day, score in enumerate(scores)]
        items.append({"score": 1, "ts": "2026-11-02T10:00:00.000+08:00"})  # another month: not counted
        if window == "w01":
            items += [{"type": "presence", "state": "away", "ts": "2026-10-12T10:00:00.000+08:00"},
                      {"type": "presence", "state": "present", "ts": "2026-10-12T10:12:00.000+08:00"},
                      {"type": "presence", "state": "away", "ts": "2026-10-13T15:00:00.000+08:00"},
                      {"type": "presence", "state": "present", "ts": "2026-10-13T15:03:30.000+08:00"},
                      {"type": "feedback", "text": "等太久了", "rating": "rating-w01-3",
                       "ts": "2026-10-08T10:01:00.000+08:00"}]
        batch += messages(window, items)
    batch += messages("w05", [{"type": "presence", "state": "present", "ts": "2026-10-02T09:00:00.000+08:00"}])
    Ingestor(s, clock).handle(batch)
    s.db.execute("INSERT INTO sites (site, name) VALUES ('hall-a', '市民服务中心'), ('hall-b', '东区分中心')")
    for window, site in SITES.items():
        s.db.execute("UPDATE windows SET site = ? WHERE window = ?", [site, window])
    s.db.conn.commit()
    for name, role, sites in (("viewer", "viewer", None), ("manager", "manager", None), ("admin", "admin", None),
                              ("east", "manager", ["hall-b"]), ("city", "manager", ["hall-a"])):
        s.accounts.create_user(name, hash_password(name + " pass"), role, sites, 0)


def logged_in(app, name: str):
    return session(app, name, name + " pass")[0]


class Report(HTMLParser):
    """The window pages' data-* figures, the ranking's window order and its last-place marks."""

    def __init__(self, html: str):
        super().__init__()
        self.windows: dict[str, dict] = {}
        self.ranking: list[str] = []
        self.last: dict[str, str] = {}
        self._in_ranking = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "window" in (a.get("class") or "").split():
            self.windows[a["data-window"]] = a
        elif tag == "table" and a.get("id") == "ranking":
            self._in_ranking = True
        elif tag == "tr" and self._in_ranking and "data-window" in a:
            self.ranking.append(a["data-window"])
            self.last[a["data-window"]] = a["data-last"]

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_ranking = False


def api_summary(app, store, window: str, first="2026-10-01", last="2026-10-31") -> dict:
    token = store.accounts.create_token("monthly-test", 0)
    answer = app.test_client().get(f"/api/v1/windows/{window}/summary?from={first}&to={last}",
                                   headers={"Authorization": "Bearer " + token})
    assert answer.status_code == 200
    return answer.json


@pytest.mark.parametrize("who, status", [("viewer", 200), ("manager", 200), ("admin", 200)])
def test_every_role_reads_it(app, store, who, status):  # viewers read the reports (README)
    client = logged_in(app, who)
    assert client.get("/reports/monthly").status_code == status
    assert client.get("/reports/monthly.csv").status_code == status


def test_anonymous_users_go_to_the_log_in(app, store):
    answer = app.test_client().get("/reports/monthly?month=2026-10")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-10", "october", "2026-10-01", "1999-12", "2026-12"])
def test_a_bad_or_future_month_is_a_400(app, store, month):
    client = logged_in(app, "manager")
    for url in ("/reports/monthly", "/reports/monthly.csv", "/reports/monthly.xlsx"):
        answer = client.get(url, query_string={"month": month})
        assert answer.status_code == 400, (url, month)
    assert "YYYY-MM" in client.get("/reports/monthly?month=2026-13").get_data(as_text=True)


def test_other_formats_are_not_found(app, store):
    assert logged_in(app, "manager").get("/reports/monthly.pdf").status_code == 404


def test_default_is_the_last_full_month(app, store):
    page = logged_in(app, "manager").get("/reports/monthly").get_data(as_text=True)
    assert "2026-10-01" in page and "2026-10-31" in page
    assert Report(page).windows["w01"]["data-total"] == "4"


def test_each_windows_page_has_the_apis_figures_for_the_month(app, store):
    page = logged_in(app, "admin").get("/reports/monthly?month=2026-10").get_data(as_text=True)
    report = Report(page)
    assert sorted(report.windows) == ["w01", "w02", "w03", "w04", "w05"]
    for window, shown in report.windows.items():
        api = api_summary(app, store, window)
        r, a = api["ratings"], api["absences"]
        assert shown["data-total"] == str(r["total"])
        assert shown["data-satisfied-rate"] == ("" if r["satisfied_rate"] is None else str(r["satisfied_rate"]))
        assert shown["data-index"] == ("" if r["index"] is None else str(r["index"]))
        assert (shown["data-absences"], shown["data-absence-seconds"], shown["data-longest-seconds"]) == (
            str(a["count"]), str(a["total_seconds"]), str(a["longest_seconds"]))
        assert shown["data-feedback"] == str(api["feedback"]["count"])
    w01 = api_summary(app, store, "w01")
    assert w01["ratings"]["total"] == 4 and w01["absences"] == {"count": 2, "total_seconds": 930,
                                                               "longest_seconds": 720}
    assert w01["feedback"]["count"] == 1
    # the window's page: reasons, absences, comments; one print page per window
    section = page.split('id="window-w02"')[1].split("</section>")[0]
    assert "办理时间长" in section and "态度不好" in section
    assert page.count('class="page window"') == 5 and "break-after: page" in page
    assert "window.print()" in page and "@media print" in page


def test_the_cover_has_the_halls_figures_and_the_ranking(app, store):
    page = logged_in(app, "admin").get("/reports/monthly?month=2026-10").get_data(as_text=True)
    # satisfied 1.0 (w03), then 0.75 twice (w01 index 68.8 before w04 62.5), 0.5 (w02), none (w05)
    assert Report(page).ranking == ["w03", "w01", "w04", "w02", "w05"]
    cover = page.split('id="cover"')[1].split("</section>")[0]
    # 16 ratings: 5 x8, 4 x4, 2 x2, 1 x2 -> 12/16 satisfied; index (800 + 300 + 50 + 0) / 16 = 71.9
    assert '<b class="total">16</b>' in cover and "75.0%" in cover and '<b class="index">71.9</b>' in cover
    assert '<b class="absences">2 次</b>' in cover and '<b class="feedback">1</b>' in cover


def test_the_ranking_marks_the_last_place_and_last_month_beside_it(app, store, clock):
    def marks():
        return Report(logged_in(app, "admin").get("/reports/monthly?month=2026-10").get_data(as_text=True)).last

    assert marks() == {"w03": "", "w01": "", "w04": "", "w02": "yes", "w05": ""}  # 0.5, the lowest in October
    Ingestor(store, clock).handle([  # September: w03 first, w02 last again
        msg(event(1, stream="stream-sept", window="w03", score=5, ts="2026-09-10T10:00:00.000+08:00"), device="k3b"),
        msg(event(2, stream="stream-sept", window="w02", score=2, ts="2026-09-11T10:00:00.000+08:00"), device="k3b")])
    assert marks()["w02"] == "twice"
    page = logged_in(app, "admin").get("/reports/monthly?month=2026-10").get_data(as_text=True)
    assert "连续两期末位" in page
    rows = list(csv.reader(io.StringIO(logged_in(app, "manager").get("/reports/monthly.csv?month=2026-10")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    header, summary = rows[1], _summary_rows(rows[2:rows.index([])])
    assert header[-2:] == ["上月名次", "末位"]
    assert summary["w02"][-2:] == ["2", "连续两期末位"] and summary["w03"][-2:] == ["1", ""]
    assert summary["w01"][-2:] == ["", ""], "no ratings in September: no rank"


def test_a_manager_with_sites_sees_only_their_windows(app, store):
    east = Report(logged_in(app, "east").get("/reports/monthly?month=2026-10").get_data(as_text=True))
    assert list(east.windows) == ["w03"] and east.ranking == ["w03"]
    city_page = logged_in(app, "city").get("/reports/monthly?month=2026-10").get_data(as_text=True)
    city = Report(city_page)
    assert sorted(city.windows) == ["w01", "w02", "w04", "w05"]
    assert '<b class="total">12</b>' in city_page.split('id="cover"')[1].split("</section>")[0]
    rows = list(csv.reader(io.StringIO(logged_in(app, "east").get("/reports/monthly.csv?month=2026-10")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[1] for r in rows[2:] if len(r) > 1 and r[1].startswith("w")] == ["w03"]


def _summary_rows(rows: list[list]) -> dict[str, list]:
    return {row[1]: row for row in rows if row and row[1]}


def test_csv_has_a_summary_row_per_window_and_a_daily_section(app, store):
    answer = logged_in(app, "manager").get("/reports/monthly.csv?month=2026-10")
    assert answer.status_code == 200
    assert 'filename="monthly-2026-10.csv"' in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["汇总"]
    header = rows[1]
    assert header[:4] == ["名次", "窗口", "名称", "评价数"] and header[4:9] == ["5分", "4分", "3分", "2分", "1分"]
    end = rows.index([])
    summary = rows[2:end]
    assert [r[1] for r in summary] == ["w03", "w01", "w04", "w02", "w05", "合计"]
    w01 = dict(zip(header, summary[1]))
    api = api_summary(app, store, "w01")
    assert (w01["名次"], w01["评价数"], w01["满意率"], w01["满意指数"]) == (
        "2", str(api["ratings"]["total"]), str(api["ratings"]["satisfied_rate"]), str(api["ratings"]["index"]))
    assert (w01["离岗次数"], w01["离岗总时长（秒）"], w01["最长离岗（秒）"], w01["留言数"]) == ("2", "930", "720", "1")
    assert dict(zip(header, summary[4]))["满意率"] == "" and dict(zip(header, summary[4]))["名次"] == ""
    assert dict(zip(header, summary[-1]))["评价数"] == "16"
    assert rows[end + 1] == ["每日"]
    daily = rows[end + 3:]
    assert len(daily) == 5 * 31
    assert ["w01", "2026-10-05", "1", "1", "0", "0", "0", "0", "1.0", "100.0"] == daily[4]


def test_xlsx_reads_back_with_numbers_as_numbers(app, store, tmp_path):
    answer = logged_in(app, "manager").get("/reports/monthly.xlsx?month=2026-10")
    assert answer.status_code == 200
    path = tmp_path / "monthly.xlsx"
    path.write_bytes(answer.get_data())
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", "每日"]
    rows = list(book["汇总"].iter_rows(values_only=True))
    header = rows[0]
    by_window = {row[1]: dict(zip(header, row)) for row in rows[1:]}
    assert list(by_window) == ["w03", "w01", "w04", "w02", "w05", "合计"]
    for window in ("w01", "w02", "w03", "w04", "w05"):
        api = api_summary(app, store, window)
        row = by_window[window]
        assert row["评价数"] == api["ratings"]["total"]
        assert row["满意率"] == api["ratings"]["satisfied_rate"] and row["满意指数"] == api["ratings"]["index"]
        assert row["离岗次数"] == api["absences"]["count"] and row["留言数"] == api["feedback"]["count"]
        assert [row[f"{s}分"] for s in range(5, 0, -1)] == [api["ratings"]["by_score"][str(s)]
                                                           for s in range(5, 0, -1)]
    assert by_window["合计"]["评价数"] == 16 and by_window["合计"]["满意率"] == 0.75
    assert by_window["合计"]["满意指数"] == 71.9
    daily = list(book["每日"].iter_rows(values_only=True))
    assert daily[0][:3] == ("窗口", "日期", "评价数") and len(daily) == 1 + 5 * 31
    assert sum(row[2] for row in daily[1:]) == 16


def test_a_month_with_nothing_shows_empty_figures(app, store):
    page = logged_in(app, "manager").get("/reports/monthly?month=2026-08").get_data(as_text=True)
    report = Report(page)
    assert all(w["data-total"] == "0" and w["data-satisfied-rate"] == "" for w in report.windows.values())
    assert '<b class="total">0</b>' in page


def test_the_staffed_share_shows_when_the_summary_has_it(app, store):
    store.db.execute("UPDATE sites SET hours = ? WHERE site = 'hall-a'",
                     ['{"1": [["09:00", "17:00"]], "2": [["09:00", "17:00"]], "3": [["09:00", "17:00"]], '
                      '"4": [["09:00", "17:00"]], "5": [["09:00", "17:00"]]}'])
    store.db.conn.commit()
    share = (api_summary(app, store, "w01").get("staffed") or {}).get("share")
    assert share is not None, "window_summary gives no staffed share"
    client = logged_in(app, "manager")
    page = client.get("/reports/monthly?month=2026-10").get_data(as_text=True)
    section = page.split('id="window-w01"')[1].split("</section>")[0]
    assert f'<b class="staffed">{share * 100:.1f}%</b>' in section
    assert 'class="staffed"' not in page.split('id="window-w03"')[1].split("</section>")[0], "hall-b has no hours"
    rows = list(csv.reader(io.StringIO(client.get("/reports/monthly.csv?month=2026-10").get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    row = dict(zip(rows[1], next(r for r in rows if len(r) > 1 and r[1] == "w01")))
    assert row["在岗率"] == str(share)
