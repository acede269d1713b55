"""The public lobby board: only for sites that opted in, the API's figures, nothing about customers."""
from __future__ import annotations

import pytest

from server.ingest.ingestor import Ingestor

from .events import event, msg

SECRET_COMMENT = "二号窗口的张三态度很差，我的电话 13800000000"


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.db.execute("INSERT INTO sites (site, name, public) VALUES ('hall-a', '市民服务中心', 1), ('hall-b', '税务大厅', 0)")
    s.db.execute("INSERT INTO staff (staff, name, site) VALUES ('1024', '张敏', 'hall-a')")
    Ingestor(s, clock).handle([
        # this month, before today
        msg(event(1, score=5, ts="2026-11-02T10:00:00.000+08:00", staff="1024")),
        msg(event(2, score=2, ts="2026-11-20T10:00:00.000+08:00", staff="1024")),
        # today
        msg(event(3, score=4, ts="2026-11-23T09:00:00.000+08:00", staff="1024", id="rating-today")),
        msg(event(4, type="feedback", text=SECRET_COMMENT, rating="rating-today",
                  ts="2026-11-23T09:01:00.000+08:00", staff="1024")),
        msg(event(5, score=1, scale=3, ts="2026-11-23T11:00:00.000+08:00", staff="1024")),
        # last month: not on the board
        msg(event(6, score=1, ts="2026-10-31T10:00:00.000+08:00", staff="1024")),
        msg(event(1, stream="stream-0002", score=3, window="w02", ts="2026-11-23T10:00:00.000+08:00"), device="k2"),
        msg(event(1, stream="stream-0003", score=5, window="w03", ts="2026-11-23T10:00:00.000+08:00"), device="k3"),
    ])
    s.db.execute("UPDATE windows SET site = 'hall-a' WHERE window IN ('w01', 'w02')")
    s.db.execute("UPDATE windows SET site = 'hall-b', title = '税务 3 号' WHERE window = 'w03'")


def test_a_site_that_did_not_opt_in_has_no_board(client):
    assert client.get("/public/hall-b").status_code == 404
    assert client.get("/public/hall-b.json").status_code == 404
    assert client.get("/public/nowhere").status_code == 404


def test_the_board_needs_no_log_in_and_shows_the_sites_windows(client):
    page = client.get("/public/hall-a")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "市民服务中心" in html and "1号窗口" in html and "2号窗口" in html
    assert "税务 3 号" not in html, "windows of other sites stay off"
    assert "张敏" in html and "1024" not in html


def test_the_figures_equal_the_api(client, store):
    api_token = store.accounts.create_token("board-check", 0)
    board = client.get("/public/hall-a.json").get_json()
    assert board["today"] == "2026-11-23" and board["month_from"] == "2026-11-01"
    assert [w["window"] for w in board["windows"]] == ["w01", "w02"]
    headers = {"Authorization": f"Bearer {api_token}"}
    for w in board["windows"]:
        for name, span in (("today", "from=2026-11-23&to=2026-11-23"), ("month", "from=2026-11-01&to=2026-11-23")):
            api = client.get(f"/api/v1/windows/{w['window']}/summary?{span}", headers=headers).get_json()
            assert w[name] == {k: api["ratings"][k] for k in ("total", "satisfied_rate", "index")}
    w01 = board["windows"][0]
    # today: a 4 of 5 (satisfied, 75 points) and a 1 of 3 (not, 0 points)
    assert w01["today"] == {"total": 2, "satisfied_rate": 0.5, "index": 37.5}
    # the month adds a 5 (100) and a 2 (25); October's rating stays out
    assert w01["month"] == {"total": 4, "satisfied_rate": 0.5, "index": 50.0}
    assert w01["staff_name"] == "张敏"


def test_the_page_shows_the_figures(client):
    html = client.get("/public/hall-a").get_data(as_text=True)
    assert "50.0%" in html and "37.5" in html and "2 次评价" in html and "4 次评价" in html


def test_no_comment_and_nothing_about_customers(client):
    for path in ("/public/hall-a", "/public/hall-a.json"):
        body = client.get(path).get_data(as_text=True)
        assert SECRET_COMMENT not in body and "13800000000" not in body and "态度很差" not in body
    board = client.get("/public/hall-a.json").get_json()
    assert set(board["windows"][0]) == {"window", "title", "staff_name", "today", "month"}, \
        "staff numbers are confidential: the clerk's name only"
    assert "1024" not in client.get("/public/hall-a").get_data(as_text=True)
    assert "feedback" not in str(board) and "absences" not in str(board)
