"""Pages at city size: a user who sees more windows than a page holds chooses the site first, then reads its
windows, kiosks and clerks a page at a time (server/web/listing.py); a hall that fits on a page sees all of it.
The city is bench/city.py's, small: 3 sites of 6 windows, with a page of 4 rows."""
from __future__ import annotations

import csv
import io
import re

import pytest

from bench.city import register_city
from bench.pages import Statements
from server.domain.passwords import hash_password
from server.web.app import create_app
from shared.pins import hash_pin

from .web import As

PAGE = 4


@pytest.fixture
def page_size():
    return PAGE


@pytest.fixture
def app(database, clock, page_size):
    return create_app({"DATABASE": str(database), "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test-secret",
                       "PAGE_SIZE": page_size})


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    register_city(s, sites=3, windows_per_site=6)
    for name, role, sites in (("root", "admin", None), ("boss", "manager", None), ("two", "manager", ["s02"])):
        s.accounts.create_user(name, hash_password("password 123"), role, sites, 0)


def rows(page: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', page)


def test_register_city_registers_sites_windows_clerks_and_confirmed_kiosks(store):
    city = [(site, window, device) for site, window, device in
            store.db.execute("SELECT w.site, w.window, w.device FROM windows w ORDER BY w.window").fetchall()]
    assert len(city) == 18 and city[0] == ("s01", "s01-w001", "k-01-001") and city[-1] == ("s03", "s03-w006", "k-03-006")
    assert store.db.execute("SELECT count(*) FROM devices WHERE confirmed AND window IS NOT NULL").fetchone() == (18,)
    assert store.db.execute("SELECT count(*) FROM device_windows WHERE until IS NULL").fetchone() == (18,)
    assert store.db.execute("SELECT count(*) FROM windows w JOIN staff c ON c.staff = w.clerk AND c.site = w.site "
                            "AND c.active").fetchone() == (18,)
    assert [s["windows"] for s in store.registry.sites()] == [6, 6, 6]


def test_register_city_returns_what_it_registered(tmp_path):
    city = register_city(tmp_path / "city.sqlite3", 2, 3)
    assert city == [(f"s0{s}", f"s0{s}-w00{w}", f"k-0{s}-00{w}") for s in (1, 2) for w in (1, 2, 3)]


def test_the_windows_page_shows_a_site_a_page_at_a_time(app, store):
    root = As(app, "root")
    first = root.text("/admin/windows")
    assert rows(first, "data-window") == ["s01-w001", "s01-w002", "s01-w003", "s01-w004"]
    assert "窗口较多，请先选择大厅。" in first and 'name="site" id="site-choice-site"' in first
    assert "第 1–4 条，共 6 条" in first and 'href="/admin/windows?page=2"' in first
    second = root.text("/admin/windows?page=2")
    assert rows(second, "data-window") == ["s01-w005", "s01-w006"] and 'rel="prev"' in second
    assert rows(root.text("/admin/windows?site=s03&page=9"), "data-window") == ["s03-w005", "s03-w006"]
    # the rows' clerks: one list for the site on the page, not every clerk in every row
    lists = dict(re.findall(r'<template class="clerks" data-site="(\w*)">(.*?)</template>', first, re.S))
    assert set(lists) == {"s01"} and len(re.findall("<option", lists["s01"])) == 6
    row = first[first.index('data-window="s01-w002"'):]
    clerk = row[row.index('name="clerk"'):]
    clerk = clerk[:clerk.index("</select>")]
    assert re.findall(r'<option value="(\w+)" selected', clerk) == ["01002"] and clerk.count("<option") == 2
    # saving a row comes back to the same site and page
    assert 'action="/admin/windows/s01-w005?page=2"' in second
    saved = root.post("/admin/windows/s03-w005?site=s03&page=2",
                      {"title": "五号", "site": "s03", "clerk": "03005"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/admin/windows?site=s03&page=2"


def test_a_site_nobody_may_see_is_not_found_in_the_readers_language(app, store):
    two = As(app, "two")
    page = two.text("/admin/windows")
    assert rows(page, "data-window")[0] == "s02-w001" and 'id="site-choice"' not in page, "one site: no choice"
    refused = two.get("/admin/windows?site=s01")
    assert refused.status_code == 404 and "大厅 s01 不存在" in refused.get_data(as_text=True)
    two.get("/lang/en")
    refused = two.get("/fleet?site=s01")
    assert refused.status_code == 404 and "Hall s01 does not exist" in refused.get_data(as_text=True)


def test_the_devices_page_lists_a_sites_kiosks_with_one_list_of_its_windows(app, store, clock):
    root = As(app, "root")
    page = root.text("/admin/devices?site=s02")
    assert rows(page, "data-device") == ["k-02-001", "k-02-002", "k-02-003", "k-02-004"]
    windows = re.search(r'<datalist id="window-list">(.*?)</datalist>', page, re.S)[1]
    assert re.findall(r'<option value="([\w-]+)"', windows) == [f"s02-w00{w}" for w in range(1, 7)]
    row = page[page.index('data-device="k-02-003"'):]
    row = row[:row.index("</tr>")]
    assert 'list="window-list"' in row and 'value="s02-w003"' in row and "<option" not in row
    # a kiosk typed to another site's window moves there, and the page comes back where it was
    moved = root.post("/admin/devices/k-02-003?site=s02", {"window": "s03-w001"})
    assert moved.status_code == 302 and moved.headers["Location"] == "/admin/devices?site=s02"
    assert store.registry.device("k-02-003")["window"] == "s03-w001"
    assert "k-02-003" not in rows(root.text("/admin/devices?site=s02"), "data-device")


def test_the_roster_is_a_sites_a_page_at_a_time_and_read_in_one_query(app, store):
    for staff in ("01001", "01002", "01003"):
        store.registry.set_pin(staff, hash_pin("246810"))
    store.db.execute("UPDATE staff SET pin_hash = 'pbkdf2:old' WHERE staff = '01004'")  # a weak, old hash
    root = As(app, "root")
    page = root.text("/admin/staff")
    assert rows(page, "data-staff") == ["01001", "01002", "01003", "01004"]
    assert page.count("已设置") == 3 and "须重新设置" in page and "pbkdf2" not in page
    assert rows(root.text("/admin/staff?site=s03&page=2"), "data-staff") == ["03005", "03006"]
    editing = root.text("/admin/staff/02006")
    assert rows(editing, "data-staff")[0] == "02001", "a clerk is edited among their site's"
    with Statements() as one:
        root.text("/admin/staff")
    for staff in ("01004", "01005", "01006"):
        store.registry.set_pin(staff, hash_pin("246810"))
    with Statements() as more:
        root.text("/admin/staff")
    assert one.count == more.count, "no query per clerk"


def test_the_fleet_page_counts_the_site_and_pages_its_kiosks(app, store):
    store.db.execute("UPDATE devices SET online = 1 WHERE device IN ('k-01-001', 'k-01-006', 'k-02-001')")
    boss = As(app, "boss")
    page = boss.text("/fleet")
    assert "共 6 台" in page and "在线 2 台" in page
    assert rows(page, "data-device") == ["k-01-001", "k-01-002", "k-01-003", "k-01-004"]
    assert rows(boss.text("/fleet?site=s02"), "data-device")[0] == "k-02-001"
    two = As(app, "two").text("/fleet?page=2")
    assert rows(two, "data-device") == ["k-02-005", "k-02-006"] and "共 6 台" in two


def test_the_board_shows_one_site_and_its_json_follows(app, store):
    boss = As(app, "boss")
    board = boss.text("/")
    assert rows(board, "data-window") == [f"s01-w00{w}" for w in range(1, 7)], "a hall's board is whole"
    assert "政务服务中心 01" in board[board.index("<h1>"):board.index("</h1>")]
    assert "/board.json?site=s01" in board
    assert [w["window"] for w in boss.get("/board.json?site=s02").json["windows"]][0] == "s02-w001"
    assert len(boss.get("/board.json").json["windows"]) == 18, "without a site: every window, as before"
    wall = boss.text("/?wall&site=s03")
    assert rows(wall, "data-window")[0] == "s03-w001" and 'id="site-choice"' not in wall


def test_compare_ranks_a_site_or_the_whole_city_a_page_at_a_time(app, store):
    boss = As(app, "boss")
    page = boss.text("/compare")
    assert rows(page, "data-key") == ["s01-w001", "s01-w002", "s01-w003", "s01-w004"]
    city = boss.text("/compare?site=_all&page=5")
    assert rows(city, "data-key") == ["s03-w005", "s03-w006"] and "第 17–18 条，共 18 条" in city
    assert 'value="_all" selected' in city and "site=_all" in city[city.index("<thead"):]
    export = boss.get("/compare.csv").get_data(as_text=True).lstrip("\ufeff")
    assert len(list(csv.reader(io.StringIO(export)))) == 1 + 18, "a download without a site: every window"
    export = boss.get("/compare.csv?site=s02").get_data(as_text=True).lstrip("\ufeff")
    assert len(list(csv.reader(io.StringIO(export)))) == 1 + 6


def test_the_monthly_report_is_a_sites(app, store):
    boss = As(app, "boss")
    page = boss.text("/reports/monthly?month=2026-10&site=s02")
    assert "s02-w001" in page and "s01-w001" not in page and "政务服务中心 02" in page
    assert "/reports/monthly.csv?month=2026-10&amp;site=s02" in page
    assert "s01-w001" in boss.text("/reports/monthly?month=2026-10") and "s02-w001" not in boss.text(
        "/reports/monthly?month=2026-10")


@pytest.mark.parametrize("page_size", [100])
def test_a_hall_that_fits_on_a_page_sees_everything_at_once(app, store):
    root = As(app, "root")
    for path, attribute in (("/admin/windows", "data-window"), ("/fleet", "data-device"), ("/", "data-window"),
                            ("/compare", "data-key")):
        page = root.text(path)
        assert len(rows(page, attribute)) == 18, path
        assert "窗口较多" not in page and 'id="paging"' not in page
        assert '<option value="" selected>全部大厅</option>' in page, path


def test_pages_do_not_query_per_row(app, store):
    """As many statements for a page of 6 rows as for a page of 2."""
    root = As(app, "root")
    for path in ("/admin/windows", "/admin/devices", "/admin/staff", "/fleet", "/", "/compare"):
        counts = []
        for size in (2, 6):
            app.config["PAGE_SIZE"] = size
            with Statements() as statements:
                root.text(path)
            counts.append(statements.count)
        assert counts[0] == counts[1], path
