"""The managers' reports through the test client on one seeded hall: every page's figures are the JSON API's,
staffed share of opening hours, the comparison with its previous period and sorting, CSV and XLSX downloads,
site scoping, and bad dates refused everywhere."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.store.db import open_db
from shared.timefmt import to_ms

from ..helpers import csv_sections
from .events import event, msg
from .web import api_reader, session

RANGE = "from=2026-11-16&to=2026-11-23"  # Monday to Monday (today, 14:00); the previous period is 11-08..11-15
HOURS_A = json.dumps({str(day): [["09:00", "12:00"], ["13:30", "17:00"]] for day in range(1, 6)})
WINDOWS = ("w01", "w02", "w03", "w04")
STAFF = ("1024", "2048", "3072", "4096", "5120")


class Hall:
    """Hand-built events, one stream per kiosk, numbered as a kiosk would."""

    def __init__(self):
        self.messages = []
        self.seqs: dict[str, int] = {}

    def add(self, device: str, window: str, type: str, ts: str, staff: str | None = None, **fields) -> str:
        stream = f"stream-{device}"
        seq = self.seqs[stream] = self.seqs.get(stream, 0) + 1
        body = event(seq, type=type, stream=stream, ts=f"2026-11-{ts}:00.000+08:00", window=window, **fields)
        if staff:
            body["staff"] = staff
        self.messages.append(msg(body, device=device))
        return body["id"]

    def rate(self, device, window, ts, score, staff, scale=5, reasons=None):
        extra = {"reasons": reasons} if reasons else {}
        return self.add(device, window, "rating", ts, staff, score=score, scale=scale, **extra)

    def away(self, device, window, start, end, staff):
        self.add(device, window, "presence", start, staff, state="away")
        if end:
            self.add(device, window, "presence", end, staff, state="present")


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.settings.set_min_sample(1)  # how rows rank; the minimum sample itself: test_ranking.py
    h = Hall()
    # w01, hall A: clerk 1024, and 2048 this morning
    h.rate("k1", "w01", "10T10:00", 5, "1024")
    h.rate("k1", "w01", "12T10:00", 4, "1024")
    h.rate("k1", "w01", "12T11:00", 2, "1024", reasons=["slow"])
    h.rate("k1", "w01", "17T09:30", 5, "1024")
    h.rate("k1", "w01", "18T10:00", 5, "1024")
    bad = h.rate("k1", "w01", "18T15:00", 1, "1024", reasons=["attitude", "slow"])
    h.add("k1", "w01", "feedback", "18T15:01", "1024", text="态度差", rating=bad)
    h.away("k1", "w01", "17T10:00", "17T10:20", "1024")
    h.rate("k1", "w01", "23T09:15", 4, "2048")
    # w02, hall A: clerk 2048; absences across a night, across lunch, and one still open
    h.rate("k2", "w02", "13T10:00", 1, "2048")
    h.away("k2", "w02", "19T16:50", "20T09:10", "2048")
    h.rate("k2", "w02", "20T09:30", 3, "2048")
    h.away("k2", "w02", "20T10:00", "20T10:30", "2048")
    h.away("k2", "w02", "20T11:50", "20T13:40", "2048")
    h.rate("k2", "w02", "20T14:00", 5, "2048")
    h.rate("k2", "w02", "23T09:00", 3, "2048", scale=3)
    h.away("k2", "w02", "23T13:50", None, "2048")
    # w03, hall B (no opening hours): clerk 3072
    h.rate("k3", "w03", "09T10:00", 5, "3072")
    h.rate("k3", "w03", "21T10:00", 5, "3072")
    h.rate("k3", "w03", "22T10:00", 4, "3072")
    h.add("k3", "w03", "feedback", "22T10:01", "3072", text="很好，谢谢")
    # w04, in no site: clerk 4096, not on the roster
    h.rate("k4", "w04", "19T10:00", 2, "4096", reasons=["wait"])
    Ingestor(s, clock).handle(h.messages)

    s.db["sites"].insert_all([{"site": "hall-a", "name": "A 厅", "timezone": "Asia/Shanghai", "hours": HOURS_A},
                              {"site": "hall-b", "name": "B 厅", "timezone": "Asia/Shanghai", "hours": "{}"}])
    for window, site in (("w01", "hall-a"), ("w02", "hall-a"), ("w03", "hall-b")):
        s.db.execute("UPDATE windows SET site = ? WHERE window = ?", (site, window))
    s.db["staff"].insert_all([{"staff": "1024", "name": "王芳", "site": "hall-a"},
                              {"staff": "2048", "name": "李雷", "site": "hall-a"},
                              {"staff": "3072", "name": "赵敏", "site": "hall-b"},
                              {"staff": "5120", "name": "孙静", "site": "hall-a"}])
    s.db.conn.commit()
    s.accounts.create_user("boss", hash_password("boss pass"), "admin", None, 0)
    s.accounts.create_user("anna", hash_password("anna pass"), "manager", ["hall-a"], 0)
    s.accounts.create_user("bert", hash_password("bert pass"), "viewer", ["hall-b"], 0)


def logged_in(app, username):
    return session(app, username, f"{username} pass")[0]


@pytest.fixture
def boss(app, store):
    return logged_in(app, "boss")


@pytest.fixture
def api(app, store):
    return api_reader(app, store)


class Tags(HTMLParser):
    """The attributes of every element that has a given attribute."""

    def __init__(self, attribute):
        super().__init__()
        self.attribute, self.found = attribute, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.attribute in attrs:
            self.found.append(attrs)


def tagged(page: str, attribute: str) -> list[dict]:
    parser = Tags(attribute)
    parser.feed(page)
    return parser.found


def figures(page: str) -> dict:
    [found] = [t for t in tagged(page, "id") if t["id"] == "figures"]
    return found


def shown(value) -> str:
    """A figure as a data-* attribute holds it."""
    return "" if value is None else str(value)


def assert_summary(attrs: dict, summary: dict) -> None:
    r, a = summary["ratings"], summary["absences"]
    expected = {"total": r["total"], "satisfied_rate": r["satisfied_rate"], "index": r["index"],
                "absences": a["count"], "absent_seconds": a["total_seconds"], "feedback": summary["feedback"]["count"]}
    if "data-longest_seconds" in attrs:
        expected["longest_seconds"] = a["longest_seconds"]
    if "staffed" in summary:
        s = summary["staffed"]
        expected["staffed"] = s["share"] if s else None
    for key, value in expected.items():
        assert attrs[f"data-{key}"] == shown(value), (key, attrs, summary)


def page(client, path, status=200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


# ------------------------------------------------------------ every page's figures are the API's
def test_window_reports_show_the_apis_figures(boss, api):
    for window in WINDOWS:
        summary = api(f"/windows/{window}/summary?{RANGE}")
        attrs = figures(page(boss, f"/windows/{window}?{RANGE}"))
        assert_summary(attrs, summary)
        s = summary["staffed"]
        assert attrs["data-opening_seconds"] == shown(s["opening_seconds"] if s else None)
    w01 = api(f"/windows/w01/summary?{RANGE}")
    assert w01["ratings"]["total"] == 4 and w01["absences"]["count"] == 1 and w01["feedback"]["count"] == 1


def test_the_board_shows_the_apis_figures_for_today_with_the_clerks_name(boss, api):
    text = page(boss, "/")
    rows = {t["data-window"]: t for t in tagged(text, "data-window")}
    assert set(rows) == set(WINDOWS)
    for window in WINDOWS:
        assert_summary(rows[window], api(f"/windows/{window}/summary"))
    assert '<span class="name">李雷</span><span class="number">2048</span>' in text  # w01 and w02 have 2048 now
    board = boss.get("/board.json").json["windows"]
    assert {w["window"]: w["staff_name"] for w in board} == {"w01": "李雷", "w02": "李雷", "w03": "赵敏", "w04": None}
    assert "4096" in text


def test_clerk_reports_show_the_apis_figures(boss, api):
    for staff in STAFF:
        summary = api(f"/staff/{staff}/summary?{RANGE}")
        text = page(boss, f"/staff/{staff}?{RANGE}")
        assert_summary(figures(text), summary)
        rows = {t["data-window"]: t for t in tagged(text.split('id="per-window"')[1], "data-window")}
        assert list(rows) == [w["window"] for w in summary["windows"]]
        for w in summary["windows"]:
            assert_summary(rows[w["window"]], w)
    s1024 = api(f"/staff/1024/summary?{RANGE}")
    assert s1024["name"] == "王芳" and s1024["staff"] == "1024"
    assert s1024["ratings"] == {"total": 3, "by_score": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 2},
                                "satisfied_rate": 0.667, "index": 66.7}
    assert s1024["absences"] == {"count": 1, "total_seconds": 1200, "longest_seconds": 1200}
    s2048 = api(f"/staff/2048/summary?{RANGE}")
    assert [w["window"] for w in s2048["windows"]] == ["w01", "w02"]
    assert s2048["ratings"]["total"] == 4 and s2048["name"] == "李雷"
    # the clerk's page has its reasons, comments, absences and hours
    text = page(boss, "/staff/1024?from=2026-11-01&to=2026-11-23")
    reasons = text.split('id="reasons"')[1].split("</table>")[0]
    assert reasons.index("办理时间长") < reasons.index("态度不好")
    assert "态度差" in text.split('id="staff-comments"')[1]
    assert "11-17 10:00" in text.split('id="absence-list"')[1].split("</table>")[0]
    assert "王芳" in text
    assert api("/staff/5120/summary")["ratings"]["total"] == 0  # on the roster, never rated


def test_unknown_clerks_are_404(boss, app, store):
    headers = {"Authorization": "Bearer " + store.accounts.create_token("t", 0)}
    for staff in ("9999", "bad%20number", "x" * 17):
        assert app.test_client().get(f"/api/v1/staff/{staff}/summary", headers=headers).status_code == 404
        assert boss.get(f"/staff/{staff}").status_code == 404


def test_comparison_pages_show_the_apis_rows(boss, api):
    for by in ("window", "staff"):
        for sort, order in (("rank", "asc"), ("total", "desc"), ("change_index", "asc"), ("key", "desc")):
            query = f"{RANGE}&by={by}&sort={sort}&order={order}"
            body = api(f"/compare?{query}")
            rows = tagged(page(boss, f"/compare?{query}"), "data-key")
            assert [r["data-key"] for r in rows] == [row[by] for row in body["rows"]]
            for attrs, row in zip(rows, body["rows"]):
                assert attrs["data-rank"] == shown(row["rank"]) and attrs["data-prev_rank"] == shown(row["prev_rank"])
                assert attrs["data-satisfied_lower"] == shown(row["current"]["satisfied_lower"])
                assert attrs["data-ranked"] == ("yes" if row["ranked"] else "no")
                for metric in row["change"]:
                    assert attrs[f"data-{metric}"] == shown(row["current"][metric])
                    assert attrs[f"data-prev_{metric}"] == shown(row["previous"][metric])
                    assert attrs[f"data-change_{metric}"] == shown(row["change"][metric])


# ------------------------------------------------------------ staffed share of opening hours
def test_staffed_share_of_opening_hours_by_hand(api, clock):
    # Friday 11-20 at w02: open 09:00-12:00 and 13:30-17:00 = 6.5 h. Away 09:00-09:10 (from the night before),
    # 10:00-10:30, and 11:50-13:40 of which 20 minutes fall in opening hours: 60 minutes of 390.
    friday = api("/windows/w02/summary?from=2026-11-20&to=2026-11-20")
    assert friday["staffed"] == {"opening_seconds": 23400, "share": round(330 / 390, 3)} == {
        "opening_seconds": 23400, "share": 0.846}
    assert friday["absences"]["count"] == 2  # the night's absence belongs to Thursday
    # today, Monday, at 14:00: 3.5 h open so far, away since 13:50
    assert api("/windows/w02/summary")["staffed"] == {"opening_seconds": 12600, "share": round(200 / 210, 3)}
    clock.advance(600)  # the open absence runs on with the clock
    assert api("/windows/w02/summary")["staffed"] == {"opening_seconds": 13200, "share": round(200 / 220, 3)}
    assert api("/windows/w02/summary?from=2026-11-21&to=2026-11-22")["staffed"] == {"opening_seconds": 0,
                                                                                  "share": None}
    assert api("/windows/w01/summary?from=2026-11-17&to=2026-11-17")["staffed"]["share"] == round(370 / 390, 3)
    assert api("/windows/w03/summary")["staffed"] is None  # a site without opening hours
    assert api("/windows/w04/summary")["staffed"] is None  # a window in no site


def test_staffed_share_counts_from_the_windows_first_event(app, api, store, clock):
    # w02's first event is a rating on Friday 11-13 at 10:00: that week's opening time counts from then
    week = "/windows/w02/summary?from=2026-11-09&to=2026-11-13"
    assert api(week)["staffed"] == {"opening_seconds": (2 + 3.5) * 3600, "share": 1.0}
    Ingestor(store, clock).handle([msg(event(1, stream="stream-late", window="w02", score=5,  # sent late
                                             ts="2026-11-12T09:00:00.000+08:00"), device="k2b")])
    assert api(week)["staffed"] == {"opening_seconds": 2 * 6.5 * 3600, "share": 1.0}, "the earliest counts"
    store.registry.create_window("w09", "9号窗口", "hall-a")  # registered, no kiosk yet
    assert api("/windows/w09/summary")["staffed"] == {"opening_seconds": 0, "share": None}


def test_the_migration_dates_existing_windows_from_their_events(app, store):
    path = app.config["DATABASE"]
    before = dict(store.db.execute("SELECT window, first_at FROM windows").fetchall())
    assert before["w01"] == to_ms(datetime(2026, 11, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    with store.db.conn:  # as a database made before m011
        store.db.execute("ALTER TABLE windows DROP COLUMN first_at")
        store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm011_window_first_at'")
    again = open_db(path)
    assert dict(again.execute("SELECT window, first_at FROM windows").fetchall()) == before


def test_the_window_report_shows_the_staffed_share(boss):
    text = page(boss, "/windows/w02?from=2026-11-20&to=2026-11-20")
    assert '<b id="staffed">84.6%</b>' in text and "开放 6.5 小时" in text
    assert '<b id="staffed">—</b>' in page(boss, "/windows/w03")


# ------------------------------------------------------------ comparison: previous period, ranks, sorting
def test_comparison_against_the_previous_period(api):
    body = api(f"/compare?{RANGE}")
    assert body["by"] == "window" and body["previous"] == {"from": "2026-11-08", "to": "2026-11-15"}
    rows = {r["window"]: r for r in body["rows"]}
    w01 = rows["w01"]
    assert w01["title"] == "1号窗口"
    # the standing: n and the Wilson 95% interval of 3 of 4 satisfied (by hand: 0.301..0.954), 2 of 3 (0.208..0.939)
    assert w01["current"] == {"total": 4, "satisfied_rate": 0.75, "index": 68.8, "absences": 1,
                              "absent_seconds": 1200, "staffed": round((2160 - 20) / 2160, 3),
                              "n": 4, "satisfied_lower": 0.301, "satisfied_interval": [0.301, 0.954]}
    assert w01["previous"] == {"total": 3, "satisfied_rate": 0.667, "index": 66.7, "absences": 0,
                               "absent_seconds": 0, "staffed": 1.0,
                               "n": 3, "satisfied_lower": 0.208, "satisfied_interval": [0.208, 0.939]}
    assert w01["ranked"] and body["min_sample"] == 1
    assert w01["change"] == {"total": 1, "satisfied_rate": 0.083, "index": 2.1, "absences": 1,
                             "absent_seconds": 1200, "staffed": -0.009}
    assert rows["w03"]["current"]["staffed"] is None and rows["w03"]["change"]["staffed"] is None
    # by the satisfied rate's lower bound: w03 (2 of 2: 0.342), w01 (3 of 4: 0.301), w02 (2 of 3: 0.208), w04
    # (0 of 1), though w02's index (83.3: 50, 100, 100) is above w01's (68.8)
    assert rows["w02"]["current"]["index"] == round((50 + 100 + 100) / 3, 1)
    assert [r["window"] for r in body["rows"]] == ["w03", "w01", "w02", "w04"]
    assert [r["rank"] for r in body["rows"]] == [1, 2, 3, 4]
    # the previous period by the lower bound: w01's 2 of 3 (0.208) above w03's 1 of 1 (0.207)
    assert rows["w04"]["prev_rank"] is None and rows["w01"]["prev_rank"] == 1 and rows["w03"]["prev_rank"] == 2
    assert rows["w02"]["prev_rank"] == 3


def test_the_last_place_is_marked_and_last_twice_running_stands_out(app, store, clock, api, boss):
    body = api(f"/compare?{RANGE}")
    assert {r["window"] for r in body["rows"] if r["last"]} == {"w04"}  # 25.0 this period
    assert {r["window"] for r in body["rows"] if r["prev_last"]} == {"w02"}  # 0.0; w04 had no ratings then
    Ingestor(store, clock).handle([msg(event(1, stream="stream-k4b", window="w04", score=1,
                                             ts="2026-11-10T10:00:00.000+08:00"), device="k4b")])
    rows = {r["window"]: r for r in api(f"/compare?{RANGE}")["rows"]}
    assert (rows["w04"]["prev_rank"], rows["w02"]["prev_rank"]) == (3, 3), "tied for the last place"
    assert [w for w, r in rows.items() if r["last"] and r["prev_last"]] == ["w04"]
    assert rows["w02"]["prev_last"] and not rows["w02"]["last"]
    marks = {t["data-key"]: t["data-last"] for t in tagged(page(boss, f"/compare?{RANGE}"), "data-key")}
    assert marks == {"w01": "", "w02": "", "w03": "", "w04": "twice"}
    assert "连续两期末位" in page(boss, f"/compare?{RANGE}")
    assert [r[-1] for r in csv_rows(boss.get(f"/compare.csv?{RANGE}"))[1:]] == ["", "", "", "连续两期末位"]
    boss.get("/lang/en")
    english = page(boss, f"/compare?{RANGE}")
    assert "Last twice running" in english
    assert '<td class="first absent_seconds">1130.0</td>' in english and "(min)" in english, "the header names the unit"
    one = api("/compare?from=2026-11-09&to=2026-11-09")["rows"]  # w03 alone has ratings that day
    assert [(r["window"], r["rank"], r["last"]) for r in one if r["rank"]] == [("w03", 1, False)]


def presets(html: str) -> dict[str, tuple[str, bool]]:
    """label -> (link, shown now) of a page's quick ranges."""
    nav = html.split('<nav class="presets"')[1].split("</nav>")[0]
    return {label: (link.replace("&amp;", "&"), here == ' class="here"')
            for link, here, label in re.findall(r'<a href="([^"]+)"( class="here")?[^>]*>([^<]+)</a>', nav)}


def test_reports_offer_quick_ranges_that_keep_the_rest_of_the_query(boss):
    # Monday 2026-11-23: this week is one day; the quarter is Q4, the one before Q3
    ranges = presets(page(boss, "/windows/w01?from=2026-10-01&to=2026-10-31"))
    assert {label: link.split("?")[1] for label, (link, _) in ranges.items()} == {
        "今日": "from=2026-11-23&to=2026-11-23", "本周": "from=2026-11-23&to=2026-11-23",
        "本月": "from=2026-11-01&to=2026-11-23", "上月": "from=2026-10-01&to=2026-10-31",
        "本季度": "from=2026-10-01&to=2026-11-23", "上季度": "from=2026-07-01&to=2026-09-30",
        "本年": "from=2026-01-01&to=2026-11-23", "上年": "from=2025-01-01&to=2025-12-31"}
    assert [label for label, (_, here) in ranges.items() if here] == ["上月"]
    assert all(link.startswith("/windows/w01?") for link, _ in ranges.values())
    compare = presets(page(boss, f"/compare?{RANGE}&by=staff&sort=total&order=desc"))
    link = compare["上季度"][0]
    assert link.startswith("/compare?") and "by=staff" in link and "sort=total" in link and "order=desc" in link
    assert "from=2026-07-01" in link and "2026-11-16" not in link
    assert not any(here for _, here in compare.values()), "11-16..11-23 is none of them"
    assert presets(page(boss, "/staff/1024"))["本月"][1], "a report's default range is this month so far"
    assert "q=%E6%80%A5" in presets(page(boss, "/comments?q=急"))["本年"][0]


def test_comparison_of_clerks_lists_the_roster_and_everyone_seen(api):
    rows = {r["staff"]: r for r in api(f"/compare?{RANGE}&by=staff")["rows"]}
    assert set(rows) == set(STAFF)
    assert rows["5120"]["name"] == "孙静" and rows["5120"]["rank"] is None and rows["5120"]["current"]["total"] == 0
    assert rows["4096"]["name"] is None and "staffed" not in rows["4096"]["current"]
    assert rows["2048"]["current"]["absences"] == 4 and rows["2048"]["previous"]["total"] == 1


def test_comparison_sorting_puts_empty_values_last_and_refuses_unknown_columns(api, app, store, boss):
    rows = api(f"/compare?{RANGE}&sort=total&order=desc")["rows"]
    assert [r["current"]["total"] for r in rows] == [4, 3, 2, 1]
    asc = api(f"/compare?{RANGE}&by=staff&sort=index&order=asc")["rows"]
    assert [r["staff"] for r in asc] == ["4096", "1024", "2048", "3072", "5120"]  # 5120 has no index: last
    desc = api(f"/compare?{RANGE}&by=staff&sort=index&order=desc")["rows"]
    assert [r["staff"] for r in desc] == ["3072", "2048", "1024", "4096", "5120"]
    headers = {"Authorization": "Bearer " + store.accounts.create_token("t", 0)}
    for query in ("sort=nonsense", "order=up", "by=site", "by=staff&sort=staffed"):
        response = app.test_client().get(f"/api/v1/compare?{query}", headers=headers)
        assert response.status_code == 400 and response.json["error"]
        assert boss.get(f"/compare?{query}").status_code == 400


def test_comparison_headers_are_sort_links(boss):
    text = page(boss, f"/compare?{RANGE}&sort=total&order=desc")
    links = {t["data-sort"]: t["href"].replace("&amp;", "&") for t in tagged(text, "data-sort") if "href" in t}
    assert "sort=total" in links["total"] and "order=asc" in links["total"]  # the sorted column flips
    assert "order=desc" in links["index"] and "order=asc" in links["key"]
    assert "from=2026-11-16" in links["index"] and "by=window" in links["index"]
    followed = tagged(page(boss, links["total"]), "data-key")
    assert [r["data-total"] for r in followed] == ["1", "2", "3", "4"]


# ------------------------------------------------------------ downloads
def xlsx(response) -> dict[str, list[list]]:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.data))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def report_sections(response) -> dict[str, list[list[str]]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return csv_sections(response.get_data(as_text=True))


def test_window_exports(boss):
    tables = report_sections(boss.get("/windows/w01.csv?from=2026-11-17&to=2026-11-18"))
    assert list(tables) == ["每日", "分工号", "离岗记录", "不满意原因", "留言", "疑似违规"]  # as the clerk report's
    assert tables["每日"] == [["日期", "评价数", "5分", "4分", "3分", "2分", "1分", "满意率", "满意指数"],
                              ["2026-11-17", "1", "1", "0", "0", "0", "0", "1.0", "100.0"],
                              ["2026-11-18", "2", "1", "0", "0", "0", "1", "0.5", "50.0"]]
    book = xlsx(boss.get("/windows/w01.xlsx?from=2026-11-17&to=2026-11-18"))
    assert list(book) == ["每日", "分工号", "离岗记录", "不满意原因", "留言", "疑似违规"]
    assert book["每日"][2] == ["2026-11-18", 2, 1, 0, 0, 0, 1, 0.5, 50]
    assert book["离岗记录"][1] == ["2026-11-17 10:00:00", "2026-11-17 10:20:00", "1024", 1200, "是"]
    assert book["不满意原因"][1:] == [["态度不好", 1], ["办理时间长", 1]]  # ties by code
    assert 'href="/windows/w01.xlsx?from=2026-11-17&amp;to=2026-11-18"' in page(
        boss, "/windows/w01?from=2026-11-17&to=2026-11-18")
    assert boss.get("/windows/w01.pdf").status_code == 404


def test_clerk_exports(boss):
    days = report_sections(boss.get(f"/staff/1024.csv?{RANGE}"))["每日"]
    assert len(days) == 1 + 8 and days[3][:2] == ["2026-11-18", "2"]
    book = xlsx(boss.get(f"/staff/2048.xlsx?{RANGE}"))
    assert list(book) == ["每日", "分窗口", "离岗记录", "不满意原因", "留言", "疑似违规"]
    assert [r[0] for r in book["分窗口"][1:]] == ["w01", "w02", "合计"]  # the clerk's own figures last
    assert book["分窗口"][2][:5] == ["w02", "2号窗口", 3, round(2 / 3, 3), 83.3]
    assert len(book["离岗记录"]) == 1 + 4 and book["离岗记录"][-1][1] == "尚未回岗"
    assert "staff-2048" in boss.get(f"/staff/2048.xlsx?{RANGE}").headers["Content-Disposition"]


def test_comparison_exports_match_the_page(boss, api):
    query = f"{RANGE}&by=staff&sort=total&order=desc"
    body = api(f"/compare?{query}")
    rows = csv_rows(boss.get(f"/compare.csv?{query}"))
    assert rows[0][:6] == ["排名", "工号", "名称", "评价数", "评价数（上期）", "评价数（变化）"]
    shown = [r["staff"] + ("" if r["verified"] else "（未核实）") for r in body["rows"]]  # 4096 is on no roster
    assert [r[1] for r in rows[1:]] == shown
    book = xlsx(boss.get(f"/compare.xlsx?{query}"))
    [sheet] = book.values()
    for line, row, staff in zip(sheet[1:], body["rows"], shown):
        assert line[:6] == [row["rank"], staff, row["name"], row["current"]["total"],
                            row["previous"]["total"], row["change"]["total"]]
        assert line[-2:] == [row["prev_rank"], "本期末位" if row["last"] else None]


def test_comments_export_uses_the_same_filters(boss):
    rows = csv_rows(boss.get("/comments.csv?from=2026-11-01&to=2026-11-30&staff=1024"))
    assert rows == [["时间", "窗口", "工号", "评分", "满分", "来源", "留言"],
                    ["2026-11-18 15:01", "1号窗口", "1024", "1", "5", "评价器", "态度差"]]
    book = xlsx(boss.get("/comments.xlsx?from=2026-11-01&to=2026-11-30"))
    assert sorted(r[-1] for r in book["留言"][1:]) == sorted(["态度差", "很好，谢谢"])
    assert boss.get("/comments.csv?score=9").status_code == 400


# ------------------------------------------------------------ site scoping
def test_a_manager_of_one_site_sees_only_its_windows(app, store):
    anna = logged_in(app, "anna")
    assert {t["data-window"] for t in tagged(page(anna, "/"), "data-window")} == {"w01", "w02"}
    assert {w["window"] for w in anna.get("/board.json").json["windows"]} == {"w01", "w02"}
    for path in ("/windows/w03", "/windows/w03.csv", "/windows/w03.xlsx", "/windows/w04",
                 "/staff/3072", "/staff/4096.csv", "/comments?window=w03"):
        assert anna.get(path).status_code == 404, path
    assert figures(page(anna, f"/windows/w01?{RANGE}"))["data-total"] == "4"
    assert [t["data-key"] for t in tagged(page(anna, f"/compare?{RANGE}"), "data-key")] == ["w01", "w02"]
    assert {t["data-key"] for t in tagged(page(anna, f"/compare?{RANGE}&by=staff"), "data-key")} == {
        "1024", "2048", "5120"}
    assert [r[1] for r in csv_rows(anna.get(f"/compare.csv?{RANGE}"))[1:]] == ["w01", "w02"]
    comments = page(anna, "/comments")
    assert "态度差" in comments and "很好" not in comments and 'value="w03"' not in comments
    assert "很好" not in anna.get("/comments.csv").get_data(as_text=True)
    # a clerk seen at a visible window, figures from the visible windows only
    assert figures(page(anna, f"/staff/2048?{RANGE}"))["data-total"] == "4"

    bert = logged_in(app, "bert")
    assert {t["data-window"] for t in tagged(page(bert, "/"), "data-window")} == {"w03"}
    assert bert.get("/staff/1024").status_code == 404 and bert.get("/windows/w01").status_code == 404
    assert [t["data-key"] for t in tagged(page(bert, f"/compare?{RANGE}&by=staff"), "data-key")] == ["3072"]


def test_the_bearer_api_is_not_scoped(api):
    assert len(api(f"/compare?{RANGE}")["rows"]) == 4
    assert api("/windows/w03/summary")["window"] == "w03"


# ------------------------------------------------------------ bad dates
BAD_DATES = ["from=2026-13-01", "from=20261101", "from=2026-11-30&to=2026-11-01", "to=2026-02-30"]
PAGES = ["/windows/w01", "/windows/w01.csv", "/windows/w01.xlsx", "/staff/1024", "/staff/1024.xlsx",
         "/compare", "/compare.csv", "/compare.xlsx", "/comments", "/comments.csv"]


@pytest.mark.parametrize("query", BAD_DATES)
def test_bad_dates_are_400_everywhere(boss, app, store, query):
    for path in PAGES:
        response = boss.get(f"{path}?{query}")
        assert response.status_code == 400, path
    headers = {"Authorization": "Bearer " + store.accounts.create_token("t", 0)}
    for path in ("/windows/w01/summary", "/staff/1024/summary", "/compare"):
        response = app.test_client().get(f"/api/v1{path}?{query}", headers=headers)
        assert response.status_code == 400 and response.json["error"], path


def test_the_window_report_lists_its_comments(boss):
    page = boss.get("/windows/w01?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    comments = page.split('<table id="comments">')[1].split("</table>")[0]
    assert "态度差" in comments and "2026-11-18 15:01" in comments and "评价器" in comments
    assert "很好" not in comments, "another window's comment"
