"""No date a request can carry gives a 5xx: every GET route of the app (with real path values), each date
parameter any route reads, hostile values and huge ranges. Under /api/ the answer is JSON; everywhere a bad range
is a 400 naming the rule; report ranges stay within 2000-01-01 .. a year from today, at most ten years long."""
from __future__ import annotations

import io
import itertools

import pytest
from flask import url_for

from server.domain.figures import BadRange, parse_bounds, parse_month, parse_range
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor

from .conftest import NOW
from .events import event, msg
from .web import PASSWORD, As

PARAMS = ("from", "to", "month", "day", "year")  # every date parameter a GET route reads
HOSTILE = ("9999-12-31", "0001-01-01", "1026-12-02", "1999-12-31", "2026-02-30", "2026-13-01", "", "x" * 10000,
           "２０２６-01-01", "2026-1-1", "+2026-01-01", "2026-11-23\x00", "2026-11-23\n", "2026-00", "9999-12",
           "0000-01", "-1", "2026-W47-1", "20261123", "2026-11-23T00:00")
RANGES = ({"from": "0001-01-01", "to": "9999-12-31"}, {"from": "2000-01-01", "to": "2026-11-23"},
          {"from": "2026-11-23", "to": "2026-11-01"}, {"from": "2027-11-25"}, {"to": "2027-11-25"},
          {"from": "1999-12-31", "to": "2000-01-01"})


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", True)
    Ingestor(s, clock).handle([msg(event(1, score=1, staff="1024", id="rating-low")),
                               msg(event(2, type="feedback", text="太慢", staff="1024", rating="rating-low"))])
    s.registry.update_window("w01", "1号窗口", "hq")
    s.db.execute("INSERT OR IGNORE INTO cases (rating_id, window, staff, score, scale, opened_at, due_date) "
                 "VALUES ('rating-low', 'w01', '1024', 1, 5, 0, '2026-11-30')")
    s.appeals.file_appeal("rating-low", "someone", "误评", 0)


def get_routes(app, store):
    """Every GET route with real values for its path: (endpoint, url); a download in one format (they share
    their range with the page)."""
    values = {"window": "w01", "staff": "1024", "site": "hq", "code": "en", "filename": "vendor/chart.js-LICENSE.md",
              "case_id": store.db.execute("SELECT id FROM cases").fetchone()[0], "appeal": 1, "run_id": 1}
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = {k: values[k] for k in rule.arguments if k != "fmt"}
        if "fmt" in rule.arguments:
            args["fmt"] = "csv" if "csv" in rule._converters["fmt"].items else sorted(rule._converters["fmt"].items)[0]
        with app.test_request_context():
            found.append((rule.endpoint, url_for(rule.endpoint, **args)))
    return found


@pytest.mark.slow
def test_no_date_input_on_any_route_gives_a_server_error(app, store):
    root = As(app, "root")
    bearer = {"Authorization": "Bearer " + store.accounts.create_token("fuzz", 0)}
    routes = get_routes(app, store)
    assert len(routes) >= 50
    queries = [{p: v} for p, v in itertools.product(PARAMS, HOSTILE)] + list(RANGES)
    failures = []
    for (endpoint, url), query in itertools.product(routes, queries):
        api = url.startswith("/api/")
        response = root.client.get(url, query_string=query, headers=bearer if api else None)
        if response.status_code >= 500 or (api and not response.is_json):
            failures.append((endpoint, query if len(str(query)) < 100 else "long", response.status_code))
    assert not failures


@pytest.mark.parametrize("path", ["/windows/w01", "/staff/1024", "/compare", "/comments", "/exports/gbt39046",
                                  "/api/v1/windows/w01/summary", "/api/v1/compare", "/api/v1/staff/1024/summary"])
@pytest.mark.parametrize("query, reason", [
    ("to=9999-12-31", "dates end at 2027-11-24"),
    ("from=1026-12-02", "dates start at 2000-01-01"),
    ("from=2000-01-01&to=2026-11-23", "a range spans at most 10 years"),
    ("from=2026-11-23&to=2026-11-01", "'to' is before 'from'"),
    ("from=2026-02-30", "dates must be real dates written YYYY-MM-DD"),
])
def test_a_bad_range_is_a_clear_400(app, store, path, query, reason):
    root = As(app, "root")
    bearer = {"Authorization": "Bearer " + store.accounts.create_token("t", 0)}
    response = root.client.get(f"{path}?{query}", headers=bearer)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json == {"error": reason}
    else:
        assert 'role="alert"' in response.get_data(as_text=True)


def test_the_pages_say_the_rule_in_the_readers_language(app, store):
    root = As(app, "root")
    page = root.client.get("/windows/w01?from=1026-12-02").get_data(as_text=True)
    assert "日期不能早于 2000-01-01" in page
    page = root.client.get("/compare?from=2000-01-01&to=2026-11-23").get_data(as_text=True)
    assert "日期范围最长 10 年" in page
    root.client.get("/lang/en")
    page = root.client.get("/windows/w01?to=9999-12-31").get_data(as_text=True)
    assert "No dates after 2027-11-24" in page
    page = root.client.get("/reports/monthly?month=1999-12").get_data(as_text=True)
    assert "No dates before 2000-01-01" in page


def test_a_ten_year_range_is_taken():
    today = NOW.date()
    days = parse_range("2016-11-24", "2026-11-23", NOW.tzinfo, today)
    assert (days.first.isoformat(), days.last.isoformat()) == ("2016-11-24", "2026-11-23")
    with pytest.raises(BadRange, match="10 years"):
        parse_range("2016-11-23", "2026-11-23", NOW.tzinfo, today)
    assert parse_range("2024-02-29", "2034-02-28", NOW.tzinfo, today.replace(year=2033)).last.isoformat() \
        == "2034-02-28"
    assert parse_bounds("", "2026-11-23", today) == (None, today)
    assert parse_month("2000-01", NOW.tzinfo, today).first.isoformat() == "2000-01-01"
    with pytest.raises(BadRange):
        parse_month("２０２６-10", NOW.tzinfo, today)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1999-12-31", "２０２６-10-01", "2026-02-30", "x" * 10000])
def test_dates_in_forms_are_bounded_too(app, store, value):
    """The holiday calendar (2000-2100), a case's call-back time (not before the case, not after now) and a report
    run's day: a 400 with the reason, nothing stored."""
    root = As(app, "root")
    case = store.db.execute("SELECT id FROM cases").fetchone()[0]
    for path, form in (("/admin/holidays", {"year": "2026", "day": value, "kind": "off", "name": "假日"}),
                       ("/admin/holidays/remove", {"year": "2026", "day": value}),
                       (f"/cases/{case}/callback", {"at": f"{value}T10:00", "note": "回访"}),
                       ("/admin/reports/run", {"kind": "daily", "period": value})):
        response = root.post(path, form)
        assert response.status_code == 400, (path, response.status_code)
        assert 'role="alert"' in response.get_data(as_text=True)
    upload = {"year": "2026", "file": (io.BytesIO(f"{value},off,假日\n".encode()), "holidays.csv")}
    assert root.post("/admin/holidays/upload", upload, content_type="multipart/form-data").status_code == 400
    assert store.db.execute("SELECT count(*) FROM holidays").fetchone()[0] == 0
    assert store.db.execute("SELECT callback_at FROM cases").fetchone()[0] is None
