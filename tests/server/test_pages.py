"""The managers' pages through Flask's test client: what they show and what they refuse."""
from __future__ import annotations

import pytest

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import session


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("viewer", hash_password("viewer pass"), "viewer", None, 0)
    Ingestor(s, clock).handle([
        msg(event(1, score=1, ts="2026-11-23T09:00:00.000+08:00", staff="1024", id="rating-one")),
        msg(event(2, type="feedback", text="<script>alert(1)</script>太慢了", rating="rating-one",
                  ts="2026-11-23T09:01:00.000+08:00", staff="1024")),
        msg(event(3, score=5, ts="2026-11-23T10:00:00.000+08:00", staff="2048", id="rating-two")),
        msg(event(4, type="feedback", text="100% 满意_很好", rating="rating-two", ts="2026-11-23T10:01:00.000+08:00",
                  staff="2048")),
        msg(event(1, stream="stream-0002", type="feedback", text="旧留言", ts="2026-10-01T10:00:00.000+08:00"),
            device="k2"),
    ])


@pytest.fixture
def client_user():
    return "viewer", "viewer pass"


def texts(client, query=""):
    page = client.get("/comments" + query)
    return page.status_code, page.get_data(as_text=True)


def test_comments_show_markup_as_text(client):
    status, page = texts(client)
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;太慢了" in page and "<script>alert(1)" not in page
    assert "1/5" in page and "5/5" in page
    assert "旧留言" not in page, "the last 30 days by default"


@pytest.mark.parametrize("query, present, absent", [
    ("?q=太慢", ["太慢了"], ["满意_很好"]),
    ("?q=100%25", ["满意_很好"], ["太慢了"]),          # % is a character, not a wildcard
    ("?q=_", ["满意_很好"], ["太慢了"]),
    ("?staff=1024", ["太慢了"], ["满意_很好"]),
    ("?score=5", ["满意_很好"], ["太慢了"]),
    ("?window=w01&from=2026-09-01&to=2026-11-30", ["太慢了", "满意_很好", "旧留言"], []),
    ("?from=2026-10-01&to=2026-10-01", ["旧留言"], ["太慢了", "满意_很好"]),
])
def test_comments_are_searchable(client, query, present, absent):
    status, page = texts(client, query)
    assert status == 200
    for text in present:
        assert text in page
    for text in absent:
        assert text not in page


@pytest.mark.parametrize("query", ["?from=2026-13-01", "?score=9", "?from=2026-11-30&to=2026-11-01"])
def test_bad_filters_get_a_clear_error(client, query):
    status, page = texts(client, query)
    assert status == 400 and 'role="alert"' in page


def test_comments_need_a_log_in(app, store):
    assert app.test_client().get("/comments").status_code == 302


def test_the_window_report_shows_the_apis_figures(client, store):
    api = client.get("/api/v1/windows/w01/summary?from=2026-11-01&to=2026-11-30",
                     headers={"Authorization": "Bearer " + store.accounts.create_token("t", 0)}).json
    page = client.get("/windows/w01?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    r = api["ratings"]
    assert f'<b id="total">{r["total"]}</b>' in page
    assert f'<b id="satisfied">{r["satisfied_rate"] * 100:.1f}%</b>' in page
    assert f'<b id="index">{r["index"]}</b>' in page
    assert f'<b id="feedback">{api["feedback"]["count"]}</b>' in page


def test_the_window_csv_has_one_row_a_day(client):
    response = client.get("/windows/w01.csv?from=2026-11-22&to=2026-11-23")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[:4] == ["每日", "日期,评价数,5分,4分,3分,2分,1分,满意率,满意指数",  # the first of the report's tables
                         "2026-11-22,0,0,0,0,0,0,,",
                         "2026-11-23,2,1,0,0,0,1,0.5,50.0"]


def test_window_reports_refuse_unknown_windows_and_bad_dates(client):
    assert client.get("/windows/w99").status_code == 404
    assert client.get("/windows/w01?from=2026-11-30&to=2026-11-01").status_code == 400
    assert client.get("/windows/w01.csv?from=nonsense").status_code == 400


def test_the_fleet_page_is_for_managers_and_shows_trouble(app, store, clock):
    viewer, _ = session(app, "viewer", "viewer pass")
    assert viewer.get("/fleet").status_code == 403

    from server.ingest.ingestor import Message
    from shared.contract import Status

    store.accounts.create_user("boss", hash_password("manager pass"), "manager", None, 0)
    store.ingest.update_status("k1", Status(online=True, window="w01", outbox=7, version="0.1.0", sensor="flapping"))
    Ingestor(store, clock).handle([Message("ceval/v1/k1/event", b"{oops"), msg(event(9))])  # seq 5..8 missing
    manager, _ = session(app, "boss", "manager pass")
    page = manager.get("/fleet").get_data(as_text=True)
    assert 'data-device="k1"' in page and "在线" in page and "0.1.0" in page
    assert '<td class="outbox">7</td>' in page and "抖动" in page
    assert "1 处待补" in page
    assert "message is not JSON" in page


def test_the_window_report_ranks_reasons_lists_absences_and_maps_hours(app, client, store, clock):
    Ingestor(store, clock).handle([
        msg(event(1, stream="stream-0003", score=2, reasons=["slow", "wait"], ts="2026-11-23T11:00:00.000+08:00"),
            device="k3"),
        msg(event(2, stream="stream-0003", score=1, reasons=["slow"], ts="2026-11-23T11:20:00.000+08:00"),
            device="k3"),
        msg(event(3, stream="stream-0003", type="presence", state="away", ts="2026-11-23T12:00:00.000+08:00"),
            device="k3"),
        msg(event(4, stream="stream-0003", type="presence", state="present", ts="2026-11-23T12:20:00.000+08:00"),
            device="k3"),
    ])
    page = client.get("/windows/w01?from=2026-11-23&to=2026-11-23").get_data(as_text=True)
    reasons = page.split('id="reasons"')[1].split("</table>")[0]
    assert reasons.index("办理时间长") < reasons.index("等候时间长")
    assert "<td>2</td>" in reasons and "<td>1</td>" in reasons
    absences = page.split('id="absence-list"')[1].split("</table>")[0]
    assert "11-23 12:00" in absences and "20 分 0 秒" in absences and 'class="error"' in absences
    heat = page.split('id="heat"')[1].split("</table>")[0]
    assert "11:00" in heat and "09:00" in heat and "03:00" not in heat  # only hours with ratings
