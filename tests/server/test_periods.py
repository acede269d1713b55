"""Calendar periods: what 三比 compares a range with, the same period a year before, and the quick ranges."""
from __future__ import annotations

from datetime import date

import pytest

from server.domain.passwords import hash_password
from server.domain.periods import add_months, presets, previous, year_before
from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db

from .events import event, msg
from .web import session

D = date.fromisoformat


@pytest.mark.parametrize("first, last, before", [
    # whole months, quarters, years and runs of whole months: as many whole months just before
    ("2026-11-01", "2026-11-30", ("2026-10-01", "2026-10-31")),
    ("2026-03-01", "2026-03-31", ("2026-02-01", "2026-02-28")),
    ("2028-03-01", "2028-03-31", ("2028-02-01", "2028-02-29")),
    ("2026-10-01", "2026-12-31", ("2026-07-01", "2026-09-30")),
    ("2026-01-01", "2026-12-31", ("2025-01-01", "2025-12-31")),
    ("2026-02-01", "2026-03-31", ("2025-12-01", "2026-01-31")),
    # a month, quarter or year so far: the same part of the one before (clipped to a shorter month)
    ("2026-11-01", "2026-11-02", ("2026-10-01", "2026-10-02")),
    ("2026-03-01", "2026-03-30", ("2026-02-01", "2026-02-28")),
    ("2026-10-01", "2026-11-23", ("2026-07-01", "2026-08-23")),
    ("2026-01-01", "2026-11-23", ("2025-01-01", "2025-11-23")),
    # any other range: as many days just before
    ("2026-11-16", "2026-11-23", ("2026-11-08", "2026-11-15")),
    ("2026-11-23", "2026-11-23", ("2026-11-22", "2026-11-22")),
    ("2026-11-01", "2026-12-10", ("2026-09-22", "2026-10-31")),
])
def test_a_range_is_compared_with_the_calendar_period_before(first, last, before):
    assert previous(D(first), D(last)) == (D(before[0]), D(before[1]))


@pytest.mark.parametrize("first, last, then", [
    ("2026-11-16", "2026-11-23", ("2025-11-16", "2025-11-23")),
    ("2028-02-01", "2028-02-29", ("2027-02-01", "2027-02-28")),
    ("2027-02-01", "2027-02-28", ("2026-02-01", "2026-02-28")),
    ("2029-02-01", "2029-02-28", ("2028-02-01", "2028-02-29")),   # a whole February is a whole February
    ("2028-02-29", "2028-03-05", ("2027-02-28", "2027-03-05")),
])
def test_the_same_period_a_year_before(first, last, then):
    assert year_before(D(first), D(last)) == (D(then[0]), D(then[1]))


def test_months_move_by_the_calendar():
    assert add_months(D("2026-01-31"), -2) == D("2025-11-30")
    assert add_months(D("2026-12-15"), 1) == D("2027-01-15")
    assert add_months(D("2026-11-30"), -1, keep_end=True) == D("2026-10-31")


def test_the_quick_ranges_are_calendar_periods():
    assert {key: (a.isoformat(), b.isoformat()) for key, a, b in presets(D("2026-01-14"))} == {
        "today": ("2026-01-14", "2026-01-14"), "week": ("2026-01-12", "2026-01-14"),
        "month": ("2026-01-01", "2026-01-14"), "last_month": ("2025-12-01", "2025-12-31"),
        "quarter": ("2026-01-01", "2026-01-14"), "last_quarter": ("2025-10-01", "2025-12-31"),
        "year": ("2026-01-01", "2026-01-14"), "last_year": ("2025-01-01", "2025-12-31")}


# ------------------------------------------------------------ 三比 on the web and in the API
@pytest.fixture
def hall(app, clock):
    """w01 rated in November 2026 (today the 23rd, 14:00), October 2026 and November 2025."""
    store = Store(open_db(app.config["DATABASE"]))
    messages = [msg(event(n, ts=f"{day}T10:00:00.000+08:00", score=score, stream="stream-k1"), device="k1")
                for n, (day, score) in enumerate([("2025-11-03", 1), ("2026-10-02", 2), ("2026-10-20", 4),
                                                  ("2026-11-02", 5), ("2026-11-05", 5)], 1)]
    Ingestor(store, clock).handle(messages)
    store.accounts.create_user("boss", hash_password("boss pass"), "admin", None, 0)
    token = store.accounts.create_token("tests", 0)
    store.db.close()
    return token


def test_this_month_is_compared_with_last_month_and_last_year(app, hall):
    client = app.test_client()
    body = client.get("/api/v1/compare?from=2026-11-01&to=2026-11-23",
                      headers={"Authorization": f"Bearer {hall}"}).json
    assert body["previous"] == {"from": "2026-10-01", "to": "2026-10-23"}
    assert body["year_before"] == {"from": "2025-11-01", "to": "2025-11-23"}
    [row] = body["rows"]
    assert (row["current"]["total"], row["previous"]["total"], row["year_before"]["total"]) == (2, 2, 1)
    assert row["change"]["satisfied_rate"] == 0.5 and row["change_year"]["satisfied_rate"] == 1.0
    assert row["change_year"]["total"] == 1
    boss, _ = session(app, "boss", "boss pass")
    page = boss.get("/compare?from=2026-11-01&to=2026-11-23&vs=both").get_data(as_text=True)
    assert "上期 2026-10-01 至 2026-10-23，去年同期 2025-11-01 至 2025-11-23" in page
    assert 'data-year_total="1"' in page and 'data-change_year_total="1"' in page
    assert '<td class="year">1</td>' in page
    default = boss.get("/compare?from=2026-11-01&to=2026-11-23").get_data(as_text=True)
    assert '<td class="year">' not in default, "the previous period alone unless asked"
    assert boss.get("/compare?vs=sideways").status_code == 400


def test_the_apis_errors_are_english(app, hall):
    client = app.test_client()
    for query, message in (("by=desk", "by must be window or staff"), ("sort=colour", "cannot sort by 'colour'"),
                           ("order=up", "order must be asc or desc")):
        response = client.get(f"/api/v1/compare?{query}", headers={"Authorization": f"Bearer {hall}"})
        assert response.status_code == 400 and message in response.json["error"], response.json
    boss, _ = session(app, "boss", "boss pass")
    assert "by 须为 window 或 staff" in boss.get("/compare?by=desk").get_data(as_text=True)
