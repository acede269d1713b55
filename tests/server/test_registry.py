"""The registry pages through Flask's test client: who may use them, what they refuse, the rows they write."""
from __future__ import annotations

import json
import re

import pytest

from server.domain import hours
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from shared.pins import hash_pin, verify_pin

from .events import event, msg
from .web import PASSWORD, As


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.accounts.create_user("hq-boss", hash_password(PASSWORD), "manager", ["hq"], 0)
    s.accounts.create_user("boss", hash_password(PASSWORD), "manager", None, 0)
    s.accounts.create_user("look", hash_password(PASSWORD), "viewer", None, 0)
    Ingestor(s, clock).handle([
        msg(event(1, score=5, staff="1024", id="rating-at-w01"), device="k1"),
        msg(event(1, stream="stream-0002", window="w02", score=2, id="rating-at-w02"), device="k2"),
    ])
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    s.registry.update_window("w01", "1号窗口", "hq")
    s.registry.update_window("w02", "2号窗口", "east")
    s.registry.create_clerk("1024", "张三", "hq", None)
    s.registry.create_clerk("2048", "李四", "east", None)


def has(row: dict | None, **expected) -> bool:
    return row is not None and {k: row[k] for k in expected} == expected


def alerts(response) -> list[str]:
    return re.findall(r'role="alert">([^<]*)<', response.get_data(as_text=True))


@pytest.fixture
def admin(app, store):
    return As(app, "root")


@pytest.fixture
def hq_manager(app, store):
    return As(app, "hq-boss")


# ---------------------------------------------------------------- roles
PAGES = ["/admin/sites", "/admin/sites/hq", "/admin/windows", "/admin/devices", "/admin/staff", "/admin/staff/1024"]
ADMIN_ONLY = {"/admin/sites", "/admin/sites/hq", "/admin/devices"}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("user", ["root", "boss", "hq-boss", "look"])
def test_each_page_is_for_its_roles(app, store, path, user):
    allowed = user == "root" or (user != "look" and path not in ADMIN_ONLY)
    assert As(app, user).get(path).status_code == (200 if allowed else 403)


POSTS = [("/admin/sites", {"site": "west", "name": "西区", "timezone": "Asia/Shanghai"}),
         ("/admin/sites/hq", {"name": "新名称", "timezone": "Asia/Shanghai"}),
         ("/admin/windows", {"window": "w09", "site": "hq"}),
         ("/admin/windows/w01", {"title": "新名称", "site": "hq"}),
         ("/admin/devices/k1", {"window": "w01"}),
         ("/admin/staff", {"staff": "4096", "name": "王五", "site": "hq"}),
         ("/admin/staff/1024", {"name": "新名称", "site": "hq", "active": "1"}),
         ("/admin/staff/1024/pin", {"pin": "123456", "pin_again": "123456"})]


@pytest.mark.parametrize("path, data", POSTS)
def test_changes_are_refused_to_smaller_roles_and_without_a_log_in(app, store, path, data):
    before = _snapshot(store)
    anonymous = As(app, None).post(path, data)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert As(app, "look").post(path, data).status_code == 403
    if path.startswith(("/admin/sites", "/admin/devices")):
        assert As(app, "boss").post(path, data).status_code == 403
    assert _snapshot(store) == before


@pytest.mark.parametrize("path, data", POSTS)
def test_every_change_needs_the_csrf_token(admin, store, path, data):
    before = _snapshot(store)
    assert admin.post(path, data, csrf=False).status_code == 400
    assert admin.post(path, {**data, "csrf_token": "forged"}, csrf=False).status_code == 400
    assert _snapshot(store) == before
    assert admin.post(path, data).status_code == 302, "the same form with its token goes through"


def _snapshot(store) -> list:
    return [list(store.db.query(f"SELECT * FROM {table}")) for table in ("sites", "windows", "devices", "staff")]


# ---------------------------------------------------------------- sites
def test_an_admin_adds_a_site_with_opening_hours(admin, store):
    response = admin.post("/admin/sites", {"site": "west-2", "name": " 西区  分中心 ", "timezone": "Asia/Urumqi",
                                           "hours_1": "09:00-12:00， 13:30-17:00", "hours_6": "09:00-12:00",
                                           "public": "1"})
    assert response.status_code == 302
    row = store.registry.site("west-2")
    assert row["name"] == "西区 分中心" and row["timezone"] == "Asia/Urumqi" and row["public"] == 1
    assert json.loads(row["hours"]) == {"1": [["09:00", "12:00"], ["13:30", "17:00"]], "6": [["09:00", "12:00"]]}
    page = admin.get("/admin/sites").get_data(as_text=True)
    assert "已添加大厅 西区 分中心" in page
    assert "周一 09:00-12:00, 13:30-17:00；周六 09:00-12:00" in page


def test_an_admin_edits_a_site_and_the_form_shows_its_hours(admin, store):
    week = {day: [(540, 1020)] for day in range(1, 6)}
    assert admin.post("/admin/sites/hq", {"name": "市民中心", "timezone": "Asia/Shanghai",
                                          **{f"hours_{d}": "09:00-17:00" for d in range(1, 6)}}).status_code == 302
    row = store.registry.site("hq")
    assert row["name"] == "市民中心" and hours.loads(row["hours"]) == week and row["public"] == 0
    form = admin.get("/admin/sites/hq").get_data(as_text=True)
    assert 'name="hours_3" value="09:00-17:00"' in form and 'name="hours_7" value=""' in form
    assert "周一至周五 09:00-17:00" in form
    assert admin.get("/admin/sites/nowhere").status_code == 404
    assert admin.post("/admin/sites/nowhere", {"name": "x", "timezone": "UTC"}).status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"site": "HQ2"}, "大厅编号须为"),
    ({"site": "a" * 33}, "大厅编号须为"),
    ({"site": "hq"}, "大厅编号 hq 已存在"),
    ({"name": "  "}, "请填写大厅名称"),
    ({"name": "长" * 65}, "大厅名称最长 64 个字"),
    ({"timezone": "Mars/Olympus"}, "时区“Mars/Olympus”不存在"),
    ({"timezone": "../../etc/passwd"}, "不存在"),
    ({"hours_2": "9点到12点"}, "星期二：“9点到12点”不是时段"),
    ({"hours_7": "10:00-09:00"}, "星期日：“10:00-09:00”的结束时间应晚于开始时间"),
    ({"hours_1": "09:00-12:00, 11:00-13:00"}, "星期一：时段不能重叠"),
])
def test_a_bad_site_is_refused_with_the_form_shown_again(admin, store, fields, message):
    data = {"site": "west", "name": "西区", "timezone": "Asia/Shanghai", "hours_1": "08:30-12:00", **fields}
    response = admin.post("/admin/sites", data)
    assert response.status_code == 400
    assert any(message in text for text in alerts(response)), alerts(response)
    page = response.get_data(as_text=True)
    assert 'id="site-form"' in page
    if "hours_1" not in fields:
        assert 'name="hours_1" value="08:30-12:00"' in page, "what was typed is shown again"
    assert [s["site"] for s in store.registry.sites()] == ["east", "hq"]


def test_a_bad_edit_leaves_the_site_as_it_was(admin, store):
    response = admin.post("/admin/sites/hq", {"name": "新", "timezone": "Asia/Shanghai", "hours_4": "25:00-26:00"})
    assert response.status_code == 400 and any("星期四" in a for a in alerts(response))
    assert store.registry.site("hq")["name"] == "市政务服务中心"


# ---------------------------------------------------------------- windows
def test_a_manager_sees_and_edits_only_the_windows_of_their_sites(hq_manager, store):
    page = hq_manager.get("/admin/windows").get_data(as_text=True)
    assert 'data-window="w01"' in page and 'data-window="w02"' not in page
    assert 'value="east"' not in page, "only their own sites are offered"
    assert hq_manager.post("/admin/windows/w01", {"title": "综合受理 1", "site": "hq"}).status_code == 302
    assert store.reports.window("w01")["title"] == "综合受理 1"
    assert hq_manager.post("/admin/windows/w02", {"title": "x", "site": "hq"}).status_code == 404
    response = hq_manager.post("/admin/windows/w01", {"title": "x", "site": "east"})
    assert response.status_code == 400 and any("不在您的管辖范围内" in a for a in alerts(response))
    response = hq_manager.post("/admin/windows/w01", {"title": "x", "site": ""})
    assert response.status_code == 400 and any("请选择大厅" in a for a in alerts(response))
    assert store.reports.window("w01")["site"] == "hq" and store.reports.window("w02")["title"] == "2号窗口"


def test_a_refused_window_change_shows_what_was_typed(admin, store):
    response = admin.post("/admin/windows/w01", {"title": " ", "site": "hq"})
    assert response.status_code == 400 and alerts(response) == ["w01：请填写窗口名称。"]
    assert 'class="failed"' in response.get_data(as_text=True)
    response = admin.post("/admin/windows/w01", {"title": "窗" * 33, "site": "hq"})
    assert response.status_code == 400 and "窗" * 33 in response.get_data(as_text=True)
    assert store.reports.window("w01")["title"] == "1号窗口"


def test_an_admin_may_take_a_window_out_of_every_site(admin, store):
    assert admin.post("/admin/windows/w02", {"title": "2号窗口", "site": ""}).status_code == 302
    assert store.reports.window("w02")["site"] is None


def test_a_window_can_be_named_before_its_kiosk_reports(hq_manager, store):
    assert hq_manager.post("/admin/windows", {"window": "w12", "title": "", "site": "hq"}).status_code == 302
    assert has(store.reports.window("w12"), title="12号窗口", site="hq", device=None)
    assert hq_manager.post("/admin/windows", {"window": "vip-1", "title": "贵宾窗口", "site": "hq"}).status_code == 302
    assert store.reports.window("vip-1")["title"] == "贵宾窗口"


@pytest.mark.parametrize("fields, message", [
    ({"window": "W12"}, "窗口编号须为"),
    ({"window": "-w"}, "窗口编号须为"),
    ({"window": "w" * 33}, "窗口编号须为"),
    ({"window": "w01"}, "窗口 w01 已存在"),
    ({"site": "east"}, "不在您的管辖范围内"),
    ({"site": "nowhere"}, "不在您的管辖范围内"),
    ({"site": ""}, "请选择大厅"),
])
def test_a_bad_new_window_is_refused(hq_manager, store, fields, message):
    response = hq_manager.post("/admin/windows", {"window": "w12", "title": "十二", "site": "hq", **fields})
    assert response.status_code == 400 and any(message in a for a in alerts(response)), alerts(response)
    assert 'id="window-form"' in response.get_data(as_text=True)
    assert [w["window"] for w in store.reports.windows()] == ["w01", "w02"]


# ---------------------------------------------------------------- devices
def test_an_unconfirmed_kiosk_is_listed_then_confirmed_at_a_window(admin, store, clock):
    page = admin.get("/admin/devices").get_data(as_text=True)
    unconfirmed = page.split('id="unconfirmed"')[1].split("</table>")[0]
    assert 'data-device="k1"' in unconfirmed and 'data-device="k2"' in unconfirmed
    assert admin.post("/admin/devices/k1", {"window": "w01"}).status_code == 302
    assert store.registry.device("k1")["confirmed"] == 1 and store.registry.device("k1")["window"] == "w01"
    assert store.reports.window("w01")["device"] == "k1"
    page = admin.get("/admin/devices").get_data(as_text=True)
    assert 'data-device="k1"' in page.split('id="confirmed"')[1] and "设备 k1 已确认，分配到窗口 w01" in page
    # confirmed, so a server running --strict now takes its events
    strict = Ingestor(store, clock, strict=True)
    after = "2026-11-23T14:00:00.000+08:00"  # a confirmed kiosk speaks for its window from its confirmation on
    strict.handle([msg(event(2, score=4, id="strict-ok", ts=after), device="k1"),
                   msg(event(2, stream="stream-0002", window="w02", id="strict-no", ts=after), device="k2")])
    assert store.ingest.existing_ids(["strict-ok", "strict-no"]) == {"strict-ok"}


def test_confirming_without_a_window_keeps_the_one_it_reported(admin, store):
    assert admin.post("/admin/devices/k2", {"window": ""}).status_code == 302
    assert store.registry.device("k2")["confirmed"] == 1 and store.registry.device("k2")["window"] == "w02"
    response = admin.post("/admin/devices/k2", {"window": ""})
    assert response.status_code == 400 and any("请选择要分配的窗口" in a for a in alerts(response))


def test_a_moved_kiosk_leaves_its_past_ratings_with_the_old_window(admin, store):
    store.registry.create_window("w05", None, "hq")
    assert admin.post("/admin/devices/k1", {"window": "w05"}).status_code == 302
    assert store.registry.device("k1")["window"] == "w05" and store.reports.window("w05")["device"] == "k1"
    assert store.reports.window("w01")["device"] is None, "the window it left no longer names it"
    assert store.db.execute("SELECT window FROM ratings WHERE event_id = 'rating-at-w01'").fetchone()[0] == "w01"
    # a kiosk put where another one was: the other is unassigned, one kiosk per window
    assert admin.post("/admin/devices/k2", {"window": "w05"}).status_code == 302
    assert store.reports.window("w05")["device"] == "k2" and store.registry.device("k1")["window"] is None
    assert store.reports.window("w02")["device"] is None
    assert store.db.execute("SELECT window FROM ratings WHERE event_id = 'rating-at-w02'").fetchone()[0] == "w02"


def test_a_kiosk_cannot_be_put_at_a_window_that_does_not_exist(admin, store):
    response = admin.post("/admin/devices/k1", {"window": "w77"})
    assert response.status_code == 400 and any("窗口 w77 不存在" in a for a in alerts(response))
    assert store.registry.device("k1")["confirmed"] == 0 and store.reports.window("w77") is None
    assert admin.post("/admin/devices/nobody", {"window": "w01"}).status_code == 404


# ---------------------------------------------------------------- the clerk roster
def test_a_manager_adds_a_clerk_with_a_pin(hq_manager, store):
    response = hq_manager.post("/admin/staff", {"staff": "A-77", "name": "王五", "site": "hq", "pin": "081523"})
    assert response.status_code == 302
    row = store.registry.clerk("A-77")
    assert row["name"] == "王五" and row["site"] == "hq" and row["active"] == 1
    assert verify_pin("081523", row["pin_hash"]) and not verify_pin("081524", row["pin_hash"])
    page = hq_manager.get("/admin/staff").get_data(as_text=True)
    assert 'data-staff="A-77"' in page and 'data-staff="2048"' not in page, "only their own sites' clerks"
    assert "081523" not in page and row["pin_hash"] not in page
    assert hq_manager.post("/admin/staff", {"staff": "A-78", "name": "赵六", "site": "hq"}).status_code == 302
    assert store.registry.clerk("A-78")["pin_hash"] is None


@pytest.mark.parametrize("fields, message", [
    ({"staff": ""}, "工号须为"),
    ({"staff": "工号1"}, "工号须为"),
    ({"staff": "x" * 17}, "工号须为"),
    ({"staff": "1024"}, "工号 1024 已存在"),
    ({"name": ""}, "请填写姓名"),
    ({"site": "east"}, "不在您的管辖范围内"),
    ({"site": ""}, "请选择大厅"),
    ({"pin": "123"}, "PIN 码须为 6 到 8 位数字"),
    ({"pin": "2468"}, "PIN 码须为 6 到 8 位数字"),  # 10**4 PINs fall in minutes, whatever the hash
    ({"pin": "123456789"}, "PIN 码须为 6 到 8 位数字"),
    ({"pin": "12a456"}, "PIN 码须为 6 到 8 位数字"),
    ({"pin": "١٢٣٤٥٦"}, "PIN 码须为 6 到 8 位数字"),  # Arabic-Indic digits: not on the kiosk's keypad
])
def test_a_bad_clerk_is_refused(hq_manager, store, fields, message):
    response = hq_manager.post("/admin/staff", {"staff": "4096", "name": "王五", "site": "hq", "pin": "123456",
                                                **fields})
    assert response.status_code == 400 and any(message in a for a in alerts(response)), alerts(response)
    assert 'id="clerk-form"' in response.get_data(as_text=True)
    assert [c["staff"] for c in store.registry.clerks()] == ["1024", "2048"]


def test_deactivating_a_clerk_keeps_them_and_their_history(admin, store):
    assert admin.post("/admin/staff/1024", {"name": "张三", "site": "hq"}).status_code == 302  # active unticked
    assert store.registry.clerk("1024")["active"] == 0
    assert store.db.execute("SELECT staff FROM ratings WHERE event_id = 'rating-at-w01'").fetchone()[0] == "1024"
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert 'data-staff="1024"' in page and "已停用" in page
    assert admin.post("/admin/staff/1024", {"name": "张三丰", "site": "east", "active": "1"}).status_code == 302
    assert has(store.registry.clerk("1024"), name="张三丰", site="east", active=1)


def test_a_manager_cannot_reach_a_clerk_of_another_site(hq_manager, store):
    assert hq_manager.get("/admin/staff/2048").status_code == 404
    assert hq_manager.post("/admin/staff/2048", {"name": "x", "site": "hq", "active": "1"}).status_code == 404
    assert hq_manager.post("/admin/staff/2048/pin", {"pin": "123456", "pin_again": "123456"}).status_code == 404
    response = hq_manager.post("/admin/staff/1024", {"name": "张三", "site": "east", "active": "1"})
    assert response.status_code == 400 and any("不在您的管辖范围内" in a for a in alerts(response))
    assert has(store.registry.clerk("2048"), name="李四", pin_hash=None) and store.registry.clerk("1024")["site"] == "hq"


def test_a_pin_is_set_and_reset_as_a_hash(hq_manager, store):
    store.registry.set_pin("1024", hash_pin("111111"))
    response = hq_manager.post("/admin/staff/1024/pin", {"pin": "246810", "pin_again": "246811"})
    assert response.status_code == 400 and alerts(response) == ["两次输入的 PIN 码不一致。"]
    response = hq_manager.post("/admin/staff/1024/pin", {"pin": "12", "pin_again": "12"})
    assert response.status_code == 400 and alerts(response) == ["PIN 码须为 6 到 8 位数字。"]
    assert verify_pin("111111", store.registry.clerk("1024")["pin_hash"])
    assert hq_manager.post("/admin/staff/1024/pin", {"pin": "246810", "pin_again": "246810"}).status_code == 302
    pin_hash = store.registry.clerk("1024")["pin_hash"]
    assert verify_pin("246810", pin_hash) and not verify_pin("111111", pin_hash)
    assert "已设置工号 1024 的 PIN 码" in hq_manager.get("/admin/staff/1024").get_data(as_text=True)


# ---------------------------------------------------------------- ceval site add
def test_ceval_site_add_writes_a_site_the_page_shows(admin, store, app, capsys):
    from ceval.main import main

    db = app.config["DATABASE"]
    assert main(["site", "add", "north", "--name", "北区 大厅", "--hours", "1-3,5=09:00-12:00,13:30-17:00",
                 "--hours", "6=09:00-12:00", "--public", "--db", db]) == 0
    assert "site north added" in capsys.readouterr().out
    row = store.registry.site("north")
    assert has(row, name="北区 大厅", timezone="Asia/Shanghai", public=1)
    assert hours.loads(row["hours"]) == {1: [(540, 720), (810, 1020)], 2: [(540, 720), (810, 1020)],
                                         3: [(540, 720), (810, 1020)], 5: [(540, 720), (810, 1020)],
                                         6: [(540, 720)]}
    assert "周一至周三 09:00-12:00, 13:30-17:00；周五 09:00-12:00, 13:30-17:00；周六 09:00-12:00" in \
        admin.get("/admin/sites").get_data(as_text=True)


@pytest.mark.parametrize("args, message", [
    (["hq", "--name", "x"], "exists already"),
    (["Bad", "--name", "x"], "is not 1 to 32"),
    (["west", "--name", " "], "--name must be"),
    (["west", "--name", "x", "--timezone", "Asia/Nowhere"], "unknown time zone"),
    (["west", "--name", "x", "--hours", "09:00-17:00"], "is not DAYS="),
    (["west", "--name", "x", "--hours", "0-5=09:00-17:00"], "ISO weekdays"),
    (["west", "--name", "x", "--hours", "1=17:00-09:00"], "the end time must be later than the start time"),
    (["west", "--name", "x", "--hours", "1-5=09:00-17:00", "--hours", "5=18:00-19:00"], "weekday 5 twice"),
])
def test_ceval_site_add_refuses_bad_input(store, app, capsys, args, message):
    from ceval.main import main

    assert main(["site", "add", *args, "--db", app.config["DATABASE"]]) == 2
    assert message in capsys.readouterr().err
    assert [s["site"] for s in store.registry.sites()] == ["east", "hq"]


def test_the_registry_queries_shadow_no_other_part_of_the_store():
    """Store is one class of mixins: a query of the same name elsewhere would silently win or lose."""
    from server.store import Store
    from server.store.registry import RegistryQueries

    mine = {name for name in vars(RegistryQueries) if not name.startswith("__")}
    for other in Store.__mro__:
        if other not in (RegistryQueries, Store) and other.__module__.startswith("server.store"):
            assert not mine & set(vars(other)), f"{other.__name__} also defines {mine & set(vars(other))}"


def test_a_kiosk_that_still_names_its_old_window_does_not_undo_a_move(app, clock):
    from server.ingest.ingestor import Ingestor
    from server.store import Store
    from server.store.db import open_db

    from .events import event, msg

    store = Store(open_db(app.config["DATABASE"]))
    ingest = Ingestor(store, clock)
    status = {"v": 1, "online": True, "ts": "2026-11-23T13:59:00.000+08:00", "window": "w01"}
    ingest.handle([msg(status, kind="status"), msg(event(1, window="w01"))])
    store.registry.assign_device("k1", "w05", 0)  # moved on the devices page; its settings still say w01
    ingest.handle([msg(status, kind="status"), msg(event(2, window="w01"))])
    assert store.db.execute("SELECT window FROM devices WHERE device = 'k1'").fetchone() == ("w05",)
    assert dict(store.db.execute("SELECT window, device FROM windows").fetchall()) == {"w01": None, "w05": "k1"}
    assert store.reports.rating_counts_of(["w01"], 0, 2**62) == [("w01", 5, 5, 1)], "its past rating keeps its window"
    reason = store.db.execute("SELECT reason FROM rejects").fetchone()[0]
    assert reason == "window: w01 is not device k1's window (it serves w05)", "and it no longer speaks for w01"


def test_a_window_gets_a_clerk_of_its_own_site_whom_its_kiosk_shows(admin, store):
    from server.domain.kiosk_config import Target, build_config

    assert admin.post("/admin/windows/w01", {"title": "1号窗口", "site": "hq", "clerk": "1024"}).status_code == 302
    assert store.reports.window("w01")["clerk"] == "1024"
    assert "张三（1024）" in admin.get("/admin/windows").get_data(as_text=True)
    for other in ("9999", "2048"):  # nobody, and a clerk of the east site
        refused = admin.post("/admin/windows/w01", {"title": "1号窗口", "site": "hq", "clerk": other})
        assert refused.status_code == 400 and any(other in a for a in alerts(refused))
    assert store.reports.window("w01")["clerk"] == "1024", "a refused change changes nothing"
    store.registry.assign_device("k1", "w01", 0)
    (row,) = [r for r in store.kiosk_config.config_targets() if r[0] == "k1"]
    assert build_config(Target(*row), [], None).staff == {"id": "1024", "name": "张三"}
    store.registry.update_clerk("1024", "张三", "hq", False)  # no longer on duty anywhere
    (row,) = [r for r in store.kiosk_config.config_targets() if r[0] == "k1"]
    assert build_config(Target(*row), [], None).staff is None
