"""Issue 11, leftovers: a staff number the roster of its window's site does not know is marked unverified on the
bad-review case pages, the appeal pages and the GB/T 39046 export too, by the same rule (Store.verified_staff)
and the same mark (templates/_staff.html) as on the reports. The web app on a real SQLite file, events through
the collector's handler (--strict)."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from shared.timefmt import format_ts, to_ms

from .conftest import NOW
from .events import event, msg
from .web import session

HOUR = timedelta(hours=1)
MARK = "（未核实）"
DAY = "from=2026-11-23&to=2026-11-23"


@pytest.fixture
def seed_store(blank_store, clock):
    """w01 of hall a (its clerk 1001), hall b's clerk 2002; k1 at w01 sent three bad ratings this morning: by
    1001, by 9999 (on no roster) and by 2002 (another hall's); the team leader appealed the last two."""
    s = blank_store
    s.registry.create_site("a", "A 厅", "Asia/Shanghai", "{}", True)
    s.registry.create_site("b", "B 厅", "Asia/Shanghai", "{}", False)
    s.registry.create_window("w01", "一号窗", "a")
    s.registry.create_clerk("1001", "甲", "a", None)
    s.registry.create_clerk("2002", "乙", "b", None)
    s.registry.assign_device("k1", "w01", to_ms(NOW - 24 * HOUR))
    s.accounts.create_user("boss", hash_password("boss pass"), "admin", None, 0)
    result = Ingestor(s, clock, strict=True).handle([
        msg(event(1, ts=format_ts(NOW - 5 * HOUR), staff="1001", score=1, id="rating-1001")),
        msg(event(2, ts=format_ts(NOW - 4 * HOUR), staff="9999", score=1, id="rating-9999")),
        msg(event(3, ts=format_ts(NOW - 3 * HOUR), staff="2002", score=2, id="rating-2002"))])
    assert (result.stored, result.rejected) == (3, 0)
    for rating in ("rating-9999", "rating-2002"):
        s.appeals.file_appeal(rating, "leader", "误评", to_ms(NOW))


@pytest.fixture
def boss(app, store):
    return session(app, "boss", "boss pass")[0]


def text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def cell(html: str, staff: str) -> str:
    """The table cell (or definition) holding the staff number."""
    return html.split(staff, 1)[1].split("</td>")[0].split("</dd>")[0]


def row_of(page: str, table: str, attribute: str) -> str:
    return page.split(f'id="{table}"', 1)[1].split(attribute, 1)[1].split("</tr>")[0]


def case_id(store, rating: str) -> int:
    return store.db.execute("SELECT id FROM cases WHERE rating_id = ?", (rating,)).fetchone()[0]


def appeal_id(store, rating: str) -> int:
    return store.db.execute("SELECT id FROM appeals WHERE rating_id = ?", (rating,)).fetchone()[0]


# ---------------------------------------------------------------- the bad-review cases
def test_the_case_list_marks_the_unverified_numbers(boss, store):
    page = text(boss, "/cases?status=all")
    for staff, marked in (("1001", False), ("9999", True), ("2002", True)):
        row = row_of(page, "cases", f'data-case="{case_id(store, "rating-" + staff)}"')
        assert ('class="unverified"' in cell(row, staff)) is marked, staff
    for staff, marked in (("1001", False), ("9999", True), ("2002", True)):
        row = row_of(page, "by-staff", f'data-staff="{staff}"')
        assert ('class="unverified"' in row) is marked, staff


def test_the_case_page_marks_an_unverified_number(boss, store):
    page = text(boss, f"/cases/{case_id(store, 'rating-9999')}")
    staff = page.split('id="staff"', 1)[1].split("</dd>")[0]
    assert "9999" in staff and MARK in staff
    page = text(boss, f"/cases/{case_id(store, 'rating-1001')}")
    assert "甲（1001）" in page and MARK not in page.split('id="staff"', 1)[1].split("</dd>")[0]


# ---------------------------------------------------------------- the appeals
def test_the_appeal_pages_mark_the_unverified_numbers(boss, store):
    page = text(boss, "/appeals")
    for rating in ("rating-9999", "rating-2002"):
        row = row_of(page, "appeals", f'data-appeal="{appeal_id(store, rating)}"')
        assert MARK in row.split('class="l staff"', 1)[1].split("</td>")[0], rating

    detail = text(boss, f"/appeals/{appeal_id(store, 'rating-2002')}")
    assert MARK in detail.split('id="staff"', 1)[1].split("</dd>")[0], "hall b's clerk at hall a's window"

    filing = text(boss, "/appeals/new?rating=rating-9999")
    assert MARK in filing.split('id="staff"', 1)[1].split("</dd>")[0]
    filing = text(boss, "/appeals/new?rating=rating-1001")
    assert MARK not in filing.split('id="staff"', 1)[1].split("</dd>")[0]

    picker = text(boss, "/appeals/new?window=w01&day=2026-11-23")
    marks = {staff: MARK in row_of(picker, "ratings", f'data-rating="rating-{staff}"')
             for staff in ("1001", "9999", "2002")}
    assert marks == {"1001": False, "9999": True, "2002": True}


def test_the_mark_is_in_the_readers_language(boss, store):
    boss.get("/lang/en")
    assert "(unverified)" in text(boss, f"/cases/{case_id(store, 'rating-9999')}")
    assert "(unverified)" in text(boss, f"/appeals/{appeal_id(store, 'rating-9999')}")


# ---------------------------------------------------------------- the GB/T 39046 export
def test_the_gbt39046_export_says_whether_each_staff_number_is_verified(boss):
    body = boss.get(f"/exports/gbt39046.csv?{DAY}").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][12:] == ["工号", "申诉结果", "评价记录号", "工号核实"]
    assert [(r[12], r[15]) for r in rows[1:]] == [("1001", "是"), ("9999", "否"), ("2002", "否")]
    records = json.loads(boss.get(f"/exports/gbt39046.json?{DAY}").get_data(as_text=True))
    assert [(r["staff"], r["staff_verified"]) for r in records] == [("1001", True), ("9999", False),
                                                                     ("2002", False)]
