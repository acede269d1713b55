"""Appeals (申诉): filed by anyone logged in, decided by a manager; an upheld one takes the rating out of every
figure (API, board, window and clerk reports) while the raw record and the GB/T 39046 export keep it."""
from __future__ import annotations

import csv
import io
import re
import sqlite3

import pytest

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.store.appeals import OwnAppeal

from .events import event, msg
from .web import session

RANGE = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    for name, role, sites in (("leader", "manager", None), ("reader", "viewer", None), ("boss", "manager", None), ("root", "admin", None),
                              ("east", "manager", ["east"])):
        s.accounts.create_user(name, hash_password(f"{name} password"), role, sites, 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    Ingestor(s, clock).handle([
        msg(event(1, score=1, staff="1024", id="rating-low", reasons=["attitude"])),
        msg(event(2, type="feedback", text="态度很差", rating="rating-low", staff="1024",
                  ts="2026-11-23T09:01:00.000+08:00")),
        msg(event(3, score=5, staff="1024", id="rating-good", ts="2026-11-23T10:00:00.000+08:00")),
        msg(event(1, stream="stream-0002", window="w02", score=2, staff="2048", id="rating-east"), device="k2"),
    ])
    s.registry.update_window("w01", "一号窗口", "hq")
    s.registry.update_window("w02", "东区二号窗口", "east")


@pytest.fixture
def leader(app, store):
    return session(app, "leader", "leader password")


@pytest.fixture
def reader(app, store):
    return session(app, "reader", "reader password")


@pytest.fixture
def boss(app, store):
    return session(app, "boss", "boss password")


def file(user, rating="rating-low", reason="顾客办理前已与窗口争执，系恶意差评"):
    client, token = user
    return client.post("/appeals", data={"rating": rating, "reason": reason, "csrf_token": token})


def decide(user, appeal, decision, note="核实监控录像，情况属实"):
    client, token = user
    return client.post(f"/appeals/{appeal}/decide", data={"decision": decision, "note": note, "csrf_token": token})


def figures(client, store, window="w01", staff="1024"):
    """The window's figures wherever they are shown."""
    bearer = {"Authorization": "Bearer " + store.accounts.create_token("t", 0)}
    api = client.get(f"/api/v1/windows/{window}/summary?{RANGE}", headers=bearer).json["ratings"]
    board = {w["window"]: w["today"]["ratings"] for w in client.get("/board.json").json["windows"]}[window]
    page = client.get(f"/windows/{window}?{RANGE}").get_data(as_text=True)
    day = client.get(f"/windows/{window}.csv?from=2026-11-23&to=2026-11-23").get_data(as_text=True).splitlines()[2]  # under 每日 and its header
    clerk = client.get(f"/api/v1/staff/{staff}/summary?{RANGE}", headers=bearer).json["ratings"]
    return {"api": (api["total"], api["satisfied_rate"]), "board": (board["total"], board["satisfied_rate"]),
            "page": re.search(r'<b id="total">(\d+)</b>', page)[1], "csv": day, "clerk": clerk["total"]}


def export_rows(client):
    response = client.get(f"/exports/gbt39046.csv?{RANGE}")
    assert response.status_code == 200
    return {row["评价记录号"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))}


def test_an_upheld_appeal_takes_the_rating_out_of_every_figure_but_not_out_of_the_record(app, store, leader, boss):
    client = boss[0]
    before = figures(client, store)
    assert before == {"api": (2, 0.5), "board": (2, 0.5), "page": "2", "csv": "2026-11-23,2,1,0,0,0,1,0.5,50.0",
                      "clerk": 2}
    # the follow-up case of the bad rating (the ingest may have opened it already)
    store.db.execute("INSERT OR IGNORE INTO cases (rating_id, window, staff, score, scale, opened_at, due_date) "
                     "VALUES ('rating-low', 'w01', '1024', 1, 5, 0, '2026-11-30')")

    response = file(leader)
    assert response.status_code == 302 and response.headers["Location"].endswith("/appeals/1")
    assert figures(client, store) == before, "a pending appeal changes nothing"
    response = decide(boss, 1, "upheld")
    assert response.status_code == 302

    assert figures(client, store) == {"api": (1, 1.0), "board": (1, 1.0), "page": "1",
                                      "csv": "2026-11-23,1,1,0,0,0,0,1.0,100.0", "clerk": 1}
    assert store.db.execute("SELECT count(*) FROM events WHERE id = 'rating-low'").fetchone()[0] == 1
    assert store.db.execute("SELECT appeal_id, score FROM excluded_ratings WHERE event_id = 'rating-low'"
                            ).fetchone() == (1, 1)
    assert store.db.execute("SELECT status, closed_at FROM cases WHERE rating_id = 'rating-low'"
                            ).fetchone() == ("closed", 1_795_413_600_000)
    assert store.db.execute("SELECT l.user, l.at, l.detail FROM case_log l JOIN cases c ON c.id = l.case_id "
                            "WHERE c.rating_id = 'rating-low' AND l.action = 'appeal_upheld'").fetchall() == [
        ("boss", 1_795_413_600_000, "核实监控录像，情况属实")]

    rows = export_rows(client)
    assert set(rows) == {"rating-low", "rating-good", "rating-east"}
    low = rows["rating-low"]
    assert (low["满意度"], low["满意度代码"], low["省级接口代码"], low["申诉结果"], low["文字评价"], low["工号"]) == \
        ("非常不满意", "5", "1", "申诉成立", "态度很差", "1024")
    assert rows["rating-good"]["申诉结果"] == "无"

    page = client.get("/appeals/1").get_data(as_text=True)
    assert "申诉成立" in page and "boss" in page and "核实监控录像" in page and "leader" in page
    assert 'action="/appeals/1/decide"' not in page, "a decided appeal has no buttons"


def test_a_rejected_appeal_changes_nothing_but_itself(app, store, leader, boss):
    client = boss[0]
    before = figures(client, store)
    assert file(leader).status_code == 302
    assert decide(boss, 1, "rejected", "评价属实").status_code == 302
    assert figures(client, store) == before
    assert store.db.execute("SELECT count(*) FROM excluded_ratings").fetchone()[0] == 0
    assert store.appeals.appeal(1)["status"] == "rejected" and store.appeals.appeal(1)["decided_by"] == "boss"
    assert export_rows(client)["rating-low"]["申诉结果"] == "申诉不成立"
    # a rejected appeal does not stand: the rating may be appealed again, and then it stands
    assert file(leader, reason="补充了新的证据").status_code == 302
    assert file(leader).status_code == 409
    assert export_rows(client)["rating-low"]["申诉结果"] == "申诉中"


def test_one_standing_appeal_per_rating(app, store, leader, boss):
    assert file(leader).status_code == 302
    response = file(boss)
    assert response.status_code == 409 and 'role="alert"' in response.get_data(as_text=True)
    with pytest.raises(sqlite3.IntegrityError):
        store.appeals.file_appeal("rating-low", "someone", "again", 0)
    assert decide(boss, 1, "upheld").status_code == 302
    response = file(leader)
    assert response.status_code == 409, "an upheld appeal still stands"
    assert store.db.execute("SELECT count(*) FROM appeals").fetchone()[0] == 1
    page = leader[0].get("/appeals/new?rating=rating-low").get_data(as_text=True)
    assert "已因申诉成立不计入统计" in page and 'name="reason"' not in page


def test_deciding_is_for_managers_and_happens_once(app, store, leader, reader, boss):
    assert file(leader).status_code == 302
    assert decide(reader, 1, "upheld").status_code == 403
    page = reader[0].get("/appeals/1").get_data(as_text=True)
    assert "顾客办理前已与窗口争执" in page and "/appeals/1/decide" not in page, "a viewer sees the appeal, not the buttons"
    assert 'action="/appeals/1/decide"' in boss[0].get("/appeals/1").get_data(as_text=True)
    admin = session(app, "root", "root password")
    assert decide(admin, 1, "rejected").status_code == 302
    response = decide(boss, 1, "upheld")
    assert response.status_code == 409 and "已经处理过了" in response.get_data(as_text=True)
    assert store.appeals.appeal(1)["status"] == "rejected" and store.appeals.appeal(1)["decided_by"] == "root"
    assert decide(boss, 99, "upheld").status_code == 404


@pytest.mark.parametrize("data, status", [
    ({"reason": ""}, 400),
    ({"reason": "  "}, 400),
    ({"reason": "理" * 501}, 400),
    ({"rating": "no-such-rating"}, 404),
    ({"rating": ""}, 400),
])
def test_filing_refuses_bad_input(store, leader, data, status):
    client, token = leader
    form = {"rating": "rating-low", "reason": "误评", "csrf_token": token, **data}
    assert client.post("/appeals", data=form).status_code == status
    assert store.db.execute("SELECT count(*) FROM appeals").fetchone()[0] == 0


def test_a_reason_of_500_characters_is_taken(store, leader):
    assert file(leader, reason="理" * 500).status_code == 302


@pytest.mark.parametrize("data", [{"decision": "maybe"}, {"note": ""}, {"note": "意" * 501}, {"decision": ""}])
def test_deciding_refuses_bad_input(store, leader, boss, data):
    assert file(leader).status_code == 302
    client, token = boss
    form = {"decision": "upheld", "note": "属实", "csrf_token": token, **data}
    response = client.post("/appeals/1/decide", data=form)
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)
    assert store.appeals.appeal(1)["status"] == "pending"
    assert store.db.execute("SELECT count(*) FROM ratings").fetchone()[0] == 3


def test_every_form_needs_its_csrf_token(store, leader, boss):
    client = leader[0]
    assert client.post("/appeals", data={"rating": "rating-low", "reason": "误评"}).status_code == 400
    assert client.post("/appeals", data={"rating": "rating-low", "reason": "误评", "csrf_token": "forged"}
                       ).status_code == 400
    assert store.db.execute("SELECT count(*) FROM appeals").fetchone()[0] == 0
    assert file(leader).status_code == 302
    assert boss[0].post("/appeals/1/decide", data={"decision": "upheld", "note": "属实"}).status_code == 400
    assert store.appeals.appeal(1)["status"] == "pending"
    for page in ("/appeals/new?rating=rating-low", "/appeals/1"):
        for user in (leader, boss):
            html = user[0].get(page).get_data(as_text=True)
            assert html.count("<form") == html.count('name="csrf_token"'), page


def test_appeals_are_scoped_to_the_users_sites(app, store, leader):
    assert file(leader).status_code == 302
    assert file(leader, rating="rating-east").status_code == 302
    east = session(app, "east", "east password")
    client = east[0]
    page = client.get("/appeals").get_data(as_text=True)
    assert 'data-appeal="2"' in page and 'data-appeal="1"' not in page
    assert client.get("/appeals/1").status_code == 404
    assert decide(east, 1, "upheld").status_code == 404
    assert client.get("/appeals/new?rating=rating-low").status_code == 404
    assert file(east, rating="rating-low").status_code == 404
    assert set(export_rows(client)) == {"rating-east"}
    assert decide(east, 2, "upheld").status_code == 302


def test_the_list_puts_pending_first_and_filters(app, store, leader, boss, clock):
    assert file(leader).status_code == 302
    clock.advance(60)
    assert file(leader, rating="rating-east").status_code == 302
    clock.advance(60)
    assert file(leader, rating="rating-good", reason="同事误按").status_code == 302
    assert decide(boss, 2, "rejected").status_code == 302
    page = boss[0].get("/appeals").get_data(as_text=True)
    assert re.findall(r'data-appeal="(\d+)"', page) == ["1", "3", "2"]
    assert "待处理 2 条" in page
    page = boss[0].get("/appeals?status=rejected").get_data(as_text=True)
    assert re.findall(r'data-appeal="(\d+)"', page) == ["2"]
    page = boss[0].get("/appeals?window=w01").get_data(as_text=True)
    assert re.findall(r'data-appeal="(\d+)"', page) == ["1", "3"]
    assert boss[0].get("/appeals?status=nonsense").status_code == 400
    assert boss[0].get("/appeals?window=w99").status_code == 404


def test_a_rating_is_picked_from_its_windows_day(store, leader):
    client = leader[0]
    page = client.get("/appeals/new?window=w01&day=2026-11-23").get_data(as_text=True)
    assert re.findall(r'data-rating="([^"]+)"', page) == ["rating-low", "rating-good"], "lowest first"
    assert 'href="/appeals/new?rating=rating-low"' in page
    page = client.get("/appeals/new?rating=rating-low").get_data(as_text=True)
    assert "1/5 非常不满意" in page and "态度很差" in page and "态度不好" in page and 'name="reason"' in page
    assert file(leader).status_code == 302
    page = client.get("/appeals/new?window=w01&day=2026-11-23").get_data(as_text=True)
    assert 'href="/appeals/1"' in page
    assert client.get("/appeals/new?window=w01&day=2026-02-30").status_code == 400
    assert client.get("/appeals/new?rating=nothing").status_code == 404


def test_appeals_need_a_log_in(app, store):
    anonymous = app.test_client()
    for url in ("/appeals", "/appeals/new", "/appeals/1"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_filer_cannot_decide_their_own_appeal(app, store, boss):
    """Four eyes: a manager who filed an appeal cannot uphold it; another one decides, and the appeal's page and
    the case's audit trail show both."""
    store.db.execute("INSERT OR IGNORE INTO cases (rating_id, window, staff, score, scale, opened_at, due_date) "
                     "VALUES ('rating-low', 'w01', '1024', 1, 5, 0, '2026-11-30')")
    assert file(boss).status_code == 302
    page = boss[0].get("/appeals/1").get_data(as_text=True)
    assert "/appeals/1/decide" not in page and 'id="own"' in page, "the filer is not offered the decision"
    response = decide(boss, 1, "upheld")
    assert response.status_code == 403 and "不能处理自己提出的申诉" in response.get_data(as_text=True)
    assert store.appeals.appeal(1)["status"] == "pending"
    assert store.db.execute("SELECT count(*) FROM ratings WHERE event_id = 'rating-low'").fetchone()[0] == 1
    with pytest.raises(OwnAppeal):
        store.appeals.decide_appeal(1, "upheld", "boss", "自己处理", 0)

    root = session(app, "root", "root password")
    assert 'action="/appeals/1/decide"' in root[0].get("/appeals/1").get_data(as_text=True)
    assert decide(root, 1, "upheld").status_code == 302
    page = root[0].get("/appeals/1").get_data(as_text=True)
    assert re.search(r'id="filed-by">boss<', page) and re.search(r'id="decided-by">root<', page)
    trail = store.db.execute("SELECT l.user, l.action FROM case_log l JOIN cases c ON c.id = l.case_id "
                             "WHERE c.rating_id = 'rating-low' AND l.action LIKE 'appeal%' ORDER BY l.id").fetchall()
    assert trail == [("boss", "appeal_filed"), ("root", "appeal_upheld")]
    case = store.db.execute("SELECT id FROM cases WHERE rating_id = 'rating-low'").fetchone()[0]
    page = root[0].get(f"/cases/{case}").get_data(as_text=True)
    assert "提出申诉" in page and "申诉成立" in page


def test_a_rejected_appeal_is_in_the_case_trail(app, store, leader, boss):
    store.db.execute("INSERT OR IGNORE INTO cases (rating_id, window, staff, score, scale, opened_at, due_date) "
                     "VALUES ('rating-low', 'w01', '1024', 1, 5, 0, '2026-11-30')")
    assert file(leader).status_code == 302
    assert decide(boss, 1, "rejected", "评价属实").status_code == 302
    trail = store.db.execute("SELECT l.user, l.action, l.detail FROM case_log l JOIN cases c ON c.id = l.case_id "
                             "WHERE c.rating_id = 'rating-low' AND l.action LIKE 'appeal%' ORDER BY l.id").fetchall()
    assert trail == [("leader", "appeal_filed", "顾客办理前已与窗口争执，系恶意差评"),
                     ("boss", "appeal_rejected", "评价属实")]
