"""Taking back a window created by mistake: an admin removes it while nothing is stored under it, or merges it
into another window; both only after typing the window's id, both in the admin log; never a window whose kiosk
is confirmed there."""
from __future__ import annotations

import re

import pytest

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import PASSWORD, As

JUNK = "w99"  # the window a kiosk named by mistake


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.accounts.create_user("boss", hash_password(PASSWORD), "manager", None, 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    Ingestor(s, clock).handle([
        msg(event(1, score=5, staff="1024", id="rating-w01")),
        msg(event(2, type="presence", state="away", staff="1024", ts="2026-11-23T09:30:00.000+08:00")),
        msg(event(3, type="presence", state="present", staff="1024", ts="2026-11-23T09:40:00.000+08:00")),
        # a kiosk set up with the wrong window id: a bad rating (its case), a comment, an absence still open
        msg(event(1, stream="stream-0009", window=JUNK, score=1, staff="1024", id="rating-junk",
                  ts="2026-11-23T08:00:00.000+08:00"), device="k9"),
        msg(event(2, stream="stream-0009", window=JUNK, type="feedback", text="等太久", rating="rating-junk",
                  staff="1024", ts="2026-11-23T08:00:30.000+08:00"), device="k9"),
        msg(event(3, stream="stream-0009", window=JUNK, type="presence", state="away", staff="1024",
                  ts="2026-11-23T10:00:00.000+08:00"), device="k9"),
    ])
    s.registry.update_window("w01", "1号窗口", "hq")
    s.registry.create_window("w02", "2号窗口", "east")
    s.registry.create_window("w-empty", "误建的窗口", "hq")
    s.appeals.file_appeal("rating-junk", "boss", "误评", 0)
    s.db.execute("INSERT OR IGNORE INTO cases (rating_id, window, staff, score, scale, opened_at, due_date) "
                 "VALUES ('rating-junk', ?, '1024', 1, 5, 0, '2026-11-30')", (JUNK,))


@pytest.fixture
def root(app, store):
    return As(app, "root")


def count(store, sql, *params):
    return store.db.execute(sql, params).fetchone()[0]


def naming(store, window) -> dict[str, int]:
    """Rows of every table with a window column that name `window`."""
    tables = [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = {}
    for table in tables:
        if "window" in store.db[table].columns_dict:
            n = count(store, f"SELECT count(*) FROM [{table}] WHERE window = ?", window)
            if n:
                found[table] = n
    return found


def summary(root, window="w01"):
    return root.client.get(f"/windows/{window}?from=2026-11-23&to=2026-11-23").get_data(as_text=True)


def test_an_empty_window_is_removed_after_its_id_is_typed_and_the_log_says_so(store, root):
    page = root.text("/admin/windows")
    assert 'href="/admin/windows/w-empty/remove"' in page
    page = root.text("/admin/windows/w-empty/remove")
    assert 'id="held-none"' in page and 'id="remove-form"' in page

    response = root.post("/admin/windows/w-empty/remove", {"confirm": ""})
    assert response.status_code == 400 and "请在确认框中输入窗口编号 w-empty" in response.get_data(as_text=True)
    response = root.post("/admin/windows/w-empty/remove", {"confirm": "w01"})
    assert response.status_code == 400
    assert store.reports.window("w-empty") is not None, "a careless click removes nothing"

    response = root.post("/admin/windows/w-empty/remove", {"confirm": "w-empty"})
    assert response.status_code == 302
    assert store.reports.window("w-empty") is None
    [entry] = store.admin_log.admin_log()
    assert (entry["user"], entry["action"], entry["details"]) == (
        "root", "window_removed", {"window": "w-empty", "title": "误建的窗口", "site": "hq"})
    page = root.text("/admin/windows")
    assert 'data-window="w-empty"' not in page
    assert re.search(r'id="window-log".*root.*删除窗口 w-empty（误建的窗口）', page, re.S)


def test_a_window_with_data_is_not_removed_but_offered_a_merge(store, root):
    page = root.text(f"/admin/windows/{JUNK}/remove")
    assert 'id="remove-form"' not in page and 'id="merge-form"' in page and 'id="held"' in page
    before = naming(store, JUNK)
    response = root.post(f"/admin/windows/{JUNK}/remove", {"confirm": JUNK})
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "不能删除：请把它合并到另一个窗口" in text and "评价数 1" in text
    assert naming(store, JUNK) == before and store.reports.window(JUNK) is not None
    assert store.admin_log.admin_log() == []


def test_a_merge_moves_everything_stored_under_the_window_and_deletes_it(store, root):
    before = summary(root)
    assert re.search(r'<b id="total">1</b>', before)
    held = naming(store, JUNK)
    assert {"events", "ratings", "feedback", "absences", "cases", "appeals"} <= set(held)

    assert root.post(f"/admin/windows/{JUNK}/merge", {"into": "w01", "confirm": "w0"}).status_code == 400
    assert naming(store, JUNK) == held

    response = root.post(f"/admin/windows/{JUNK}/merge", {"into": "w01", "confirm": JUNK})
    assert response.status_code == 302
    assert store.reports.window(JUNK) is None
    assert naming(store, JUNK) == {}, "no row names the merged window any more"
    assert count(store, "SELECT window FROM ratings WHERE event_id = 'rating-junk'") == "w01"
    assert count(store, "SELECT window FROM appeals WHERE rating_id = 'rating-junk'") == "w01"
    assert count(store, "SELECT window FROM cases WHERE rating_id = 'rating-junk'") == "w01"
    assert count(store, "SELECT count(*) FROM absences WHERE window = 'w01' AND end_at IS NULL") == 0, \
        "the merged window's open absence ends at the merge"
    assert count(store, "SELECT first_at FROM windows WHERE window = 'w01'") == \
        count(store, "SELECT min(at) FROM events WHERE id = 'rating-junk'")
    assert re.search(r'<b id="total">2</b>', summary(root)), "w01's report now counts the merged rating"

    [entry] = store.admin_log.admin_log()
    assert (entry["user"], entry["action"]) == ("root", "window_merged")
    assert entry["details"]["window"] == JUNK and entry["details"]["into"] == "w01"
    assert entry["details"]["moved"] == {table: n for table, n in held.items() if table != "windows"}
    page = root.text("/admin/windows")
    assert re.search(rf'id="window-log".*root.*窗口 {JUNK}.*并入 w01', page, re.S)


def test_a_window_with_a_confirmed_kiosk_is_neither_removed_nor_merged(store, root, clock):
    store.db.execute("INSERT INTO devices (device, window, confirmed, first_seen, last_seen) "
                     "VALUES ('k5', 'w-empty', 1, 0, 0)")
    store.registry.assign_device("k9", JUNK, 0)
    page = root.text("/admin/windows/w-empty/remove")
    assert 'id="kiosk"' in page and 'id="remove-form"' not in page and 'id="merge-form"' not in page
    for url, form in (("/admin/windows/w-empty/remove", {"confirm": "w-empty"}),
                      (f"/admin/windows/{JUNK}/merge", {"into": "w01", "confirm": JUNK})):
        response = root.post(url, form)
        assert response.status_code == 409, url
        assert "请先在设备登记中把它分配到别的窗口" in response.get_data(as_text=True)
    assert store.reports.window("w-empty") is not None and store.reports.window(JUNK) is not None
    assert store.admin_log.admin_log() == []


def test_merges_stay_within_a_site_and_need_a_real_other_window(store, root):
    response = root.post("/admin/windows/w-empty/merge", {"into": "w02", "confirm": "w-empty"})
    assert response.status_code == 409 and "不能并入其他大厅的窗口 w02" in response.get_data(as_text=True)
    assert root.post("/admin/windows/w-empty/merge", {"into": "w-empty", "confirm": "w-empty"}).status_code == 400
    assert root.post("/admin/windows/w-empty/merge", {"into": "nowhere", "confirm": "w-empty"}).status_code == 400
    assert root.post("/admin/windows/w-empty/merge", {"confirm": "w-empty"}).status_code == 400
    assert root.post("/admin/windows/nowhere/merge", {"into": "w01", "confirm": "nowhere"}).status_code == 404
    assert store.reports.window("w-empty") is not None and store.admin_log.admin_log() == []


def test_only_admins_remove_or_merge(app, store):
    boss = As(app, "boss")
    assert 'href="/admin/windows/w-empty/remove"' not in boss.text("/admin/windows")
    assert boss.get("/admin/windows/w-empty/remove").status_code == 403
    assert boss.post("/admin/windows/w-empty/remove", {"confirm": "w-empty"}).status_code == 403
    assert boss.post(f"/admin/windows/{JUNK}/merge", {"into": "w01", "confirm": JUNK}).status_code == 403
    assert store.reports.window("w-empty") is not None and store.reports.window(JUNK) is not None


def test_a_case_number_served_at_both_windows_counts_once_after_a_merge(store, root):
    from server.domain.participation import ON_DUTY_MS
    from server.store import Served
    store.served.add(JUNK, [Served(0, 1, "C-1"), Served(0, 1, "C-2"), Served(0, 4, None)], "test", 0, ON_DUTY_MS)
    store.served.add("w01", [Served(0, 1, "C-1")], "test", 0, ON_DUTY_MS)
    response = root.post(f"/admin/windows/{JUNK}/merge", {"into": "w01", "confirm": JUNK})
    assert response.status_code == 302 and naming(store, JUNK) == {}
    assert store.served.counts_of(["w01"], 0, 1) == {"w01": 1 + 1 + 4}
    assert store.admin_log.admin_log()[0]["details"]["moved"]["served"] == 2
