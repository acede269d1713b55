"""Issue 11, leftovers: a staff number the roster of its window's site does not know is stored as given, creates
no clerk and is marked unverified wherever reports show it (pages, downloads, API); a revoked kiosk confirmed
again at its window does not count what it timed in between; /fleet shows every device's newest rejects.
The web app on a real SQLite file, events through the collector's handler (--strict)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.store import Reject
from shared.timefmt import format_ts, to_ms

from .conftest import NOW
from .events import event, msg
from .web import api_reader, session

HOUR = timedelta(hours=1)
TODAY = "from=2026-11-23&to=2026-11-23"
MARK = "（未核实）"


def ts(moment) -> str:
    return format_ts(moment)


@pytest.fixture
def seed_store(blank_store):
    """Hall a (w01, kiosk k1, clerk 1001), hall b (w02, clerk 2002), w09 in no site; an admin and a token."""
    s = blank_store
    s.registry.create_site("a", "A 厅", "Asia/Shanghai", "{}", True)
    s.registry.create_site("b", "B 厅", "Asia/Shanghai", "{}", False)
    s.registry.create_window("w01", "一号窗", "a")
    s.registry.create_window("w02", "二号窗", "b")
    s.registry.create_window("w09", "九号窗", None)
    s.registry.create_clerk("1001", "甲", "a", None)
    s.registry.create_clerk("2002", "乙", "b", None)
    s.registry.assign_device("k1", "w01", to_ms(NOW - 24 * HOUR))
    s.accounts.create_user("boss", hash_password("boss pass"), "admin", None, 0)


@pytest.fixture
def seeded(store, clock):
    """k1's morning at w01: 1001 rated well, then 9999 (on no roster) and 2002 (hall b's) rated, away and
    commented on; 2002 is on duty last."""
    sent = [msg(event(1, ts=ts(NOW - 5 * HOUR), staff="1001", score=5)),
            msg(event(2, ts=ts(NOW - 4 * HOUR), staff="9999", score=2)),
            msg(event(3, type="feedback", ts=ts(NOW - 4 * HOUR + timedelta(minutes=1)), staff="9999", text="慢")),
            msg(event(4, type="presence", state="away", ts=ts(NOW - 3 * HOUR), staff="9999")),
            msg(event(5, type="presence", state="present", ts=ts(NOW - 3 * HOUR + timedelta(minutes=5)),
                      staff="9999")),
            msg(event(6, ts=ts(NOW - 2 * HOUR), staff="2002", score=4))]
    result = Ingestor(store, clock, strict=True).handle(sent)
    assert (result.stored, result.rejected) == (6, 0), "a staff number is stored as given"
    return store


def rows(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


@pytest.fixture
def boss(app, seeded):
    return session(app, "boss", "boss pass")[0]


@pytest.fixture
def api(app, seeded):
    return api_reader(app, seeded)


def text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def section(page: str, marker: str) -> str:
    return page.split(marker, 1)[1].split("</table>")[0]


def marked(html: str, staff: str) -> bool:
    """Whether the staff number is followed by the unverified mark (its link or span closed in between)."""
    after = html.split(staff, 1)[1][:200]
    return 'class="unverified"' in after.split("</td>")[0]


# ---------------------------------------------------------------- the rule
def test_the_rule_is_the_roster_of_the_windows_site(store):
    assert store.reports.verified_staff([("w01", "1001"), ("w01", "2002"), ("w01", "9999"), ("w02", "2002"),
                                 ("w09", "1001"), ("w09", "2002"), ("w09", "9999"), (None, "2002"),
                                 ("w01", "")]) == {("w01", "1001"), ("w02", "2002"), ("w09", "1001"),
                                                   ("w09", "2002"), (None, "2002")}
    store.registry.update_clerk("1001", "甲", "a", False)
    assert store.reports.verified_staff([("w01", "1001")]) == {("w01", "1001")}, "a clerk who left keeps their events"


# ---------------------------------------------------------------- stored as given, no clerk
def test_an_unknown_staff_number_is_stored_as_given_and_creates_no_clerk(seeded):
    assert rows(seeded, "SELECT staff FROM ratings ORDER BY at") == [("1001",), ("9999",), ("2002",)]
    assert rows(seeded, "SELECT staff FROM absences") == [("9999",)]
    assert rows(seeded, "SELECT staff FROM staff ORDER BY staff") == [("1001",), ("2002",)]
    assert rows(seeded, "SELECT staff FROM windows WHERE window = 'w01'") == [("2002",)]


# ---------------------------------------------------------------- pages
def test_the_window_report_marks_the_unverified_numbers(boss):
    page = text(boss, f"/windows/w01?{TODAY}")
    head = page.split('<p class="sub">', 1)[1].split("</p>")[0]
    assert "2002" in head and marked(head, "2002"), "the clerk on duty is hall b's"
    absences = section(page, 'id="absence-list"')
    assert "9999" in absences and marked(absences, "9999") and MARK in absences
    comments = section(page, 'id="comments"')
    assert marked(comments, "9999")


def test_the_clerk_report_marks_an_unknown_number_and_not_a_known_clerk(boss):
    page = text(boss, f"/staff/9999?{TODAY}")
    assert 'class="unverified"' in page.split("</h1>")[0]
    per_window = section(page, 'id="per-window"')
    assert 'data-window="w01" data-verified="false"' in per_window and MARK in per_window
    assert marked(section(page, 'id="absence-list"'), "9999")

    other = text(boss, f"/staff/2002?{TODAY}")
    assert 'data-window="w01" data-verified="false"' in section(other, 'id="per-window"'), "not hall a's clerk"

    known = text(boss, f"/staff/1001?{TODAY}")
    assert 'class="unverified"' not in known and MARK not in known
    assert 'data-window="w01" data-verified="true"' in section(known, 'id="per-window"')


def test_the_comparison_board_and_opinion_book_mark_them(boss):
    compare = section(text(boss, f"/compare?by=staff&{TODAY}"), 'id="compare"')
    lines = {key: line for line in compare.split("<tr")[1:] if 'data-key="' in line
             for key in [line.split('data-key="')[1].split('"')[0]]}
    assert set(lines) == {"1001", "2002", "9999"}
    assert MARK in lines["9999"] and MARK in lines["2002"] and MARK not in lines["1001"]

    board = section(text(boss, "/"), 'id="board"')
    assert marked(board, "2002")
    assert [w["verified"] for w in boss.get("/board.json").json["windows"] if w["window"] == "w01"] == [False]

    book = section(text(boss, "/comments"), 'id="comments"')
    assert marked(book, "9999")


def test_a_known_clerk_is_not_marked(app, store, clock):
    Ingestor(store, clock, strict=True).handle([msg(event(1, ts=ts(NOW - HOUR), staff="1001"))])
    boss = session(app, "boss", "boss pass")[0]
    for path in (f"/windows/w01?{TODAY}", f"/staff/1001?{TODAY}", f"/compare?by=staff&{TODAY}", "/", "/comments"):
        assert 'class="unverified"' not in text(boss, path), path


def test_the_public_board_names_no_clerk_for_a_number_its_roster_lacks(app, seeded):
    [w01] = app.test_client().get("/public/a.json").json["windows"]
    assert w01["staff_name"] is None, "2002 is 乙 of hall b, not a clerk of hall a"


# ---------------------------------------------------------------- downloads
def test_the_csv_and_xlsx_downloads_mark_them(boss):
    body = boss.get(f"/compare.csv?by=staff&{TODAY}").get_data(as_text=True).lstrip("\ufeff")
    staff = {row[1] for row in list(csv.reader(io.StringIO(body)))[1:]}
    assert staff == {"1001", "2002" + MARK, "9999" + MARK}

    body = boss.get(f"/comments.csv?{TODAY}").get_data(as_text=True).lstrip("\ufeff")
    assert [row[2] for row in list(csv.reader(io.StringIO(body)))[1:]] == ["9999" + MARK]

    book = load_workbook(io.BytesIO(boss.get(f"/staff/9999.xlsx?{TODAY}").data))
    assert [row[3] for row in book["离岗记录"].iter_rows(min_row=2, values_only=True)] == ["9999" + MARK]
    book = load_workbook(io.BytesIO(boss.get(f"/windows/w01.xlsx?{TODAY}").data))
    assert [row[2] for row in book["离岗记录"].iter_rows(min_row=2, values_only=True)] == ["9999" + MARK]


def test_the_mark_is_in_the_readers_language(boss):
    boss.get("/lang/en")
    body = boss.get(f"/comments.csv?{TODAY}").get_data(as_text=True).lstrip("\ufeff")
    assert [row[2] for row in list(csv.reader(io.StringIO(body)))[1:]] == ["9999 (unverified)"]
    assert "(unverified)" in section(text(boss, f"/windows/w01?{TODAY}"), 'id="absence-list"')


# ---------------------------------------------------------------- the API
def test_the_api_gives_verified_beside_each_staff_number(api):
    windows = {w["window"]: w for w in api("/windows")}
    assert (windows["w01"]["staff"], windows["w01"]["verified"]) == ("2002", False)
    assert windows["w02"]["staff"] is None and "verified" not in windows["w02"], "only beside a staff number"

    unknown = api(f"/staff/9999/summary?{TODAY}")
    assert unknown["verified"] is False and [(w["window"], w["verified"]) for w in unknown["windows"]] == [
        ("w01", False)]
    known = api(f"/staff/1001/summary?{TODAY}")
    assert known["verified"] is True and [(w["window"], w["verified"]) for w in known["windows"]] == [("w01", True)]
    assert api(f"/staff/2002/summary?{TODAY}")["verified"] is False

    rows = {r["staff"]: r["verified"] for r in api(f"/compare?by=staff&{TODAY}")["rows"]}
    assert rows == {"1001": True, "2002": False, "9999": False}


# ---------------------------------------------------------------- a revoked kiosk confirmed again
def test_a_kiosk_revoked_and_confirmed_again_does_not_count_the_time_between(store, clock):
    store.provisioning.revoke_device("k1", to_ms(NOW - 3 * HOUR))
    store.registry.assign_device("k1", "w01", to_ms(NOW - HOUR))  # confirmed again at the same window
    assert rows(store, "SELECT window, since, until FROM device_windows WHERE device = 'k1' ORDER BY id") == [
        ("w01", to_ms(NOW - 24 * HOUR), to_ms(NOW - 3 * HOUR)), ("w01", to_ms(NOW - HOUR), None)]
    result = Ingestor(store, clock, strict=True).handle([
        msg(event(1, ts=ts(NOW - 4 * HOUR))),   # before the revocation: counts
        msg(event(2, ts=ts(NOW - 2 * HOUR))),   # while revoked: refused, acked
        msg(event(3, ts=ts(NOW - HOUR / 2)))])  # after it was confirmed again: counts
    assert (result.stored, result.rejected) == (2, 1)
    assert rows(store, "SELECT seq FROM events ORDER BY seq") == [(1,), (3,)]
    [(reason,)] = rows(store, "SELECT reason FROM rejects")
    assert reason.startswith("window: w01 was device k1's only")


# ---------------------------------------------------------------- /fleet: every device's newest rejects
def test_the_fleet_page_shows_each_devices_newest_rejects_and_exact_count(app, store, clock):
    now = to_ms(NOW)
    store.ingest.seen_device("k2", now)
    store.ingest.record_rejects([Reject(now, "k2", "ceval/v1/k2/event", "trouble of k2", None, None, b"x")])
    store.ingest.record_rejects([Reject(now + i, "k1", "ceval/v1/k1/event", f"flood {i}", None, None, b"x")
                          for i in range(300)])  # a flooding kiosk, after k2's one reject
    store.ingest.record_rejects([Reject(now, None, "ceval/v1/+bad/event", "bad topic", None, None, b"x")])
    boss = session(app, "boss", "boss pass")[0]
    page = section(text(boss, "/fleet"), 'id="rejects"')
    groups = {part.split('"')[0]: part for part in page.split('<tbody data-device="')[1:]}
    assert set(groups) == {"k1", "k2", ""}
    assert "trouble of k2" in groups["k2"] and 'data-rejected="1"' in groups["k2"], "not hidden by k1's flood"
    assert 'data-rejected="300"' in groups["k1"] and "共拒收 300 条" in groups["k1"]
    assert [f"flood {i}" in groups["k1"] for i in (299, 295, 294)] == [True, True, False], "the newest 5"
    assert "bad topic" in groups[""]
