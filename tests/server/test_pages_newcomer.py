"""What a newcomer meets on the web pages (issue 12): styled errors in the reader's language with the navigation,
the alert count in the navigation and on the board, window and clerk reports with the same export sheets,
roles as the help says, names in the reader's language, the Windows admin page, the favicon and the wall board."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from server.domain.comment_token import make_token
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import As

RANGE = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    for name, role, sites in (("viewer", "viewer", None), ("boss", "manager", None), ("root", "admin", None),
                              ("east", "manager", ["east"])):
        s.accounts.create_user(name, hash_password("password 123"), role, sites, 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    s.registry.create_clerk("1046", "李娜", "hq", None)
    s.registry.create_clerk("2048", "周敏", "east", None)
    Ingestor(s, clock).handle([
        msg(event(1, score=2, staff="1046", id="rating-low")),
        msg(event(2, type="feedback", text="等了很久", rating="rating-low", staff="1046",
                  ts="2026-11-23T09:01:00.000+08:00")),
    ])
    s.registry.update_window("w01", "一号窗口", "hq")
    s.registry.create_window("w09", "九号窗口", "hq")  # named before any kiosk reports


def english(user: As) -> As:
    user.get("/lang/en")
    return user


# ------------------------------------------------------------ error pages
def assert_styled(response, status: int, *texts: str, navigation: bool = True):
    page = response.get_data(as_text=True)
    assert response.status_code == status and response.mimetype == "text/html", page[:300]
    assert "<style>" in page and 'rel="icon"' in page
    assert ('<header class="top">' in page) is navigation, "the navigation is on every error page of a user"
    for text in texts:
        assert text in page, (text, page[-800:])


def test_a_bad_date_range_is_a_styled_page_in_the_readers_language(app, store):
    boss = As(app, "boss")
    assert_styled(boss.get("/windows/w01?from=2026-13-01"), 400, "请求有误", "日期须为 YYYY-MM-DD 格式的真实日期")
    english(boss)
    assert_styled(boss.get("/windows/w01?from=2026-11-30&to=2026-11-01"), 400, "Bad request", "lang=\"en\"")
    assert "结束日期" not in boss.get("/windows/w01?from=2026-11-30&to=2026-11-01").get_data(as_text=True)


@pytest.mark.parametrize("lang, forbidden, missing, method", [
    ("zh", "没有权限", "页面不存在", "不支持这种请求"),
    ("en", "Not allowed", "Page not found", "Method not allowed"),
])
def test_403_404_405_are_styled_with_the_navigation(app, store, lang, forbidden, missing, method):
    viewer = As(app, "viewer")
    viewer.get(f"/lang/{lang}")
    assert_styled(viewer.get("/fleet"), 403, forbidden)
    assert_styled(viewer.get("/no-such-page"), 404, missing)
    assert_styled(viewer.get("/alerts/ack"), 405, method)


def test_csrf_413_and_429_are_styled_too(app, store):
    boss = As(app, "boss")
    assert_styled(boss.post("/alerts/ack", {"alert_id": "1"}, csrf=False), 400, "表单已过期")
    big = boss.client.post("/appeals", data={"reason": "x" * (2 * 1024 * 1024), "csrf_token": boss.token})
    assert_styled(big, 413, "提交的内容太大")
    anonymous = As(app, None)
    for _ in range(6):
        response = anonymous.client.post("/login", data={"username": "boss", "password": "wrong",
                                                         "csrf_token": anonymous.token})
    assert_styled(response, 429, "尝试次数过多", navigation=False)


def test_the_api_answers_json_in_english_and_phone_pages_keep_their_own_look(app, store):
    response = app.test_client().get("/api/v1/windows", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.is_json and response.json["error"].isascii()
    boss = As(app, "boss")
    english(boss)
    phone = boss.get("/c/w01?t=broken")  # a customer's phone: no managers' navigation, even when logged in
    assert_styled(phone, phone.status_code, "QR code", navigation=False)
    assert phone.status_code in (400, 403)


# ------------------------------------------------------------ the alert count
def test_unacknowledged_alerts_show_in_the_navigation_and_on_the_board(app, store, clock):
    for n, site in enumerate(("hq", "hq", "east")):
        store.alerts.insert_alert(None, "offline", site, None, None, f"key-{n}", "评价器离线", 0)
    store.alerts.ack_alert(store.alerts.insert_alert(None, "offline", "hq", None, None, "key-acked", "评价器离线", 0), "root", 1)
    boss, east = As(app, "boss"), As(app, "east")
    assert '<span class="badge"' in boss.text("/comments") and ">3</span></a>" in boss.text("/comments")
    assert ">1</span></a>" in east.text("/comments"), "only the alerts of the user's sites"
    board = boss.text("/")
    assert "未确认告警 3 条" in board and 'id="board-alerts" hidden' not in board
    assert boss.get("/board.json").json["alerts"] == 3 and east.get("/board.json").json["alerts"] == 1
    viewer = As(app, "viewer")
    assert 'class="badge"' not in viewer.text("/comments"), "viewers have no alerts page to go to"


def test_no_alerts_no_badge(app, store):
    boss = As(app, "boss")
    assert 'class="badge"' not in boss.text("/") and 'id="board-alerts" hidden' in boss.text("/")


# ------------------------------------------------------------ the reports' downloads
def sheets(response) -> dict[str, list[list]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(response.data))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def test_window_and_clerk_reports_offer_the_same_sheets(app, store):
    boss = As(app, "boss")
    window = sheets(boss.get(f"/windows/w01.xlsx?{RANGE}"))
    clerk = sheets(boss.get(f"/staff/1046.xlsx?{RANGE}"))
    assert list(window) == ["每日", "分工号", "离岗记录", "不满意原因", "留言", "疑似违规"]
    assert list(clerk) == ["每日", "分窗口", "离岗记录", "不满意原因", "留言", "疑似违规"]
    assert window["分工号"][1][:4] == ["1046", "李娜", 1, 0]
    assert window["留言"][1][1:] == ["1046", 2, 5, "评价器", "等了很久"]
    assert clerk["留言"][1][1:] == ["一号窗口", 2, 5, "评价器", "等了很久"]
    csv = boss.get(f"/windows/w01.csv?{RANGE}").get_data(as_text=True)
    for title in ("每日", "分工号", "离岗记录", "不满意原因", "留言", "疑似违规"):
        assert f"\n{title}\r\n" in "\n" + csv.lstrip("\ufeff"), f"the CSV holds every table: {title}"
    page = boss.text(f"/windows/w01?{RANGE}")
    assert 'id="per-staff"' in page and 'data-staff="1046"' in page


# ------------------------------------------------------------ roles
def test_viewers_read_the_monthly_report_and_cannot_file_appeals(app, store):
    viewer = As(app, "viewer")
    assert viewer.get("/reports/monthly?month=2026-11").status_code == 200
    assert viewer.get("/reports/monthly.csv?month=2026-11").status_code == 200
    assert "/reports/monthly" in viewer.text("/")
    assert_styled(viewer.get("/appeals/new"), 403, "没有权限")
    assert viewer.post("/appeals", {"rating": "rating-low", "reason": "x"}).status_code == 403
    assert "/appeals/new" not in viewer.text("/appeals")
    assert "/appeals/new" in As(app, "boss").text("/appeals")


# ------------------------------------------------------------ names in the reader's language
def test_names_and_levels_in_english(app, store):
    boss = english(As(app, "boss"))
    cases = boss.text("/cases")
    assert "李娜 (1046)" in cases and "李娜（1046）" not in cases
    assert "2/5 Unsatisfied" in cases and "不满意" not in cases
    assert "李娜（1046）" in As(app, "boss").text("/cases"), "Chinese keeps its full-width parentheses"


def test_the_phone_form_promises_no_score(app, store, clock):
    token = make_token(app.config["SECRET_KEY"], "w01", clock.now())
    page = As(app, None).text(f"/c/w01?t={token}")
    assert "评分已记录" not in page and "意见或建议" in page


# ------------------------------------------------------------ the Windows admin page
def test_the_clerk_list_follows_the_rows_site_before_saving(app, store):
    page = As(app, "root").text("/admin/windows")
    row = page[page.index('data-window="w09"'):]
    row = row[:row.index("</tr>")]
    assert 'data-clerks-of="w09"' in row
    lists = dict(re.findall(r'<template class="clerks" data-site="(\w*)">(.*?)</template>', page, re.S))
    assert set(lists) == {"hq", "east"}, "every active clerk, once per site, for the rows' lists"
    assert 'value="2048"' in lists["east"] and 'value="1046"' in lists["hq"]
    assert 'addEventListener("change"' in page and '<script nonce="' in page
    assert "无评价器" in row


def test_a_window_without_a_kiosk_is_not_offline(app, store):
    boss = As(app, "boss")
    row = next(w for w in boss.get("/board.json").json["windows"] if w["window"] == "w09")
    assert row["state"] == "no_kiosk"
    board = boss.text("/")
    nine = board[board.index('data-window="w09"'):]
    assert "无评价器" in nine[:nine.index("</tr>")] and "离线" not in nine[:nine.index("</tr>")]


# ------------------------------------------------------------ favicon and the wall board
def test_a_favicon_everywhere(app, store):
    assert 'rel="icon"' in As(app, None).text("/login")
    icon = app.test_client().get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/static/favicon.svg")
    assert app.test_client().get("/static/favicon.svg").status_code == 200


def test_the_wall_board_has_no_navigation(app, store):
    boss = As(app, "boss")
    wall = boss.text("/?wall")
    assert '<body class="wall">' in wall and '<header class="top">' not in wall
    assert '<header class="top">' in boss.text("/")
