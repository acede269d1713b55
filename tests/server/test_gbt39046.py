"""The GB/T 39046-2020 table 9 export: the level mapping in both directions, the CSV and JSON rows of a range,
and the admin's export settings."""
from __future__ import annotations

import csv
import io
import json

import pytest

from server.domain import gbt39046
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import session


# ------------------------------------------------------------ the mapping (pure)
@pytest.mark.parametrize("scale, score, name, gbt, provincial", [
    (5, 5, "非常满意", 1, 5), (5, 4, "满意", 2, 4), (5, 3, "基本满意", 3, 3), (5, 2, "不满意", 4, 2),
    (5, 1, "非常不满意", 5, 1),
    (4, 4, "非常满意", 1, 5), (4, 3, "满意", 2, 4), (4, 2, "不满意", 4, 2), (4, 1, "非常不满意", 5, 1),
    (3, 3, "满意", 2, 4), (3, 2, "基本满意", 3, 3), (3, 1, "不满意", 4, 2),
])
def test_each_score_names_a_level_with_its_code_in_both_directions(scale, score, name, gbt, provincial):
    assert gbt39046.level(score, scale) == name
    assert gbt39046.gbt_code(name) == gbt and gbt39046.provincial_code(name) == provincial
    assert gbt39046.level_of_gbt_code(gbt) == name and gbt39046.level_of_provincial_code(provincial) == name
    assert gbt39046.gbt_to_provincial(gbt) == provincial


def test_the_mapping_keeps_the_order_of_the_scale():
    for scale, levels in gbt39046.SCORE_LEVELS.items():
        assert sorted(levels) == list(range(1, scale + 1))
        codes = [gbt39046.gbt_code(levels[s]) for s in range(scale, 0, -1)]
        assert codes == sorted(set(codes)), f"a better score has a smaller GB/T code on scale {scale}"
    assert [gbt39046.provincial_code(n) for n in gbt39046.LEVELS] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("score, scale", [(6, 5), (0, 5), (5, 4), (4, 3), (1, 2), (1, 10)])
def test_a_score_off_its_scale_has_no_level(score, scale):
    with pytest.raises(gbt39046.BadScore):
        gbt39046.level(score, scale)


@pytest.mark.parametrize("code", [0, 6, -1, "1", None])
def test_a_code_off_the_five_levels_is_refused(code):
    with pytest.raises(gbt39046.BadScore):
        gbt39046.level_of_gbt_code(code)
    with pytest.raises(gbt39046.BadScore):
        gbt39046.level_of_provincial_code(code)


@pytest.mark.parametrize("channel, code, area, sites, problems", [
    ("政务大厅平板电脑", "4", "110105", {}, []),
    ("政务大厅其他终端", "05", "", {"hq": "110105001"}, []),
    ("自助机", "4", "", {}, ["channel"]),
    ("政务大厅平板电脑", "", "", {}, ["channel_code"]),
    ("政务大厅平板电脑", "4-1", "", {}, ["channel_code"]),
    ("政务大厅平板电脑", "4", "1101050011", {}, ["area_code"]),   # ten digits
    ("政务大厅平板电脑", "4", "11010a", {}, ["area_code"]),
    ("政务大厅平板电脑", "4", "１１０１０５", {}, ["area_code"]),  # full-width digits
    ("政务大厅平板电脑", "4", "110105", {"hq": "x"}, ["area_code"]),
])
def test_settings_are_checked(channel, code, area, sites, problems):
    assert gbt39046.check_settings(channel, code, area, sites) == problems


# ------------------------------------------------------------ the export through the web app
@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    for name, role, sites in (("viewer", "viewer", None), ("boss", "manager", None), ("root", "admin", None),
                              ("east", "manager", ["east"])):
        s.accounts.create_user(name, hash_password(f"{name} password"), role, sites, 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    Ingestor(s, clock).handle([
        msg(event(1, score=5, staff="1024", id="rating-before", ts="2026-11-21T23:59:59.000+08:00")),
        msg(event(2, score=4, scale=4, staff="1024", id="rating-four", ts="2026-11-22T00:00:00.000+08:00")),
        msg(event(3, score=2, scale=3, id="rating-three", ts="2026-11-22T16:30:05.000+08:00")),
        msg(event(4, score=2, staff="1024", id="rating-bad", ts="2026-11-23T09:15:00.000+08:00")),
        msg(event(5, type="feedback", text="等了很久", rating="rating-bad", staff="1024", ts="2026-11-23T09:16:00.000+08:00")),
        msg(event(6, type="feedback", text="=再也不来", rating="rating-bad", staff="1024",
                  ts="2026-11-23T09:17:00.000+08:00")),
        msg(event(7, type="feedback", text="没有关联评价的留言", staff="1024", ts="2026-11-23T09:18:00.000+08:00")),
        msg(event(1, stream="stream-0002", window="w02", score=1, staff="2048", id="rating-east",
                  ts="2026-11-23T11:00:00.000+08:00"), device="k2"),
    ])
    clock.advance(86400)  # a rating at the first instant after the range (a future one would be retimed)
    Ingestor(s, clock).handle([msg(event(2, stream="stream-0002", window="w02", score=5, id="rating-after",
                                         ts="2026-11-24T00:00:00.000+08:00"), device="k2")])
    s.registry.update_window("w01", "一号窗口", "hq")
    s.registry.update_window("w02", "东区二号窗口", "east")
    s.db.execute("UPDATE ratings SET case_no = 'BJ-2026-000123' WHERE event_id = 'rating-bad'")  # as a bound case
    s.settings.set_setting("export", {"channel": "政务大厅其他终端", "channel_code": "5", "area_code": "110105",
                             "site_area_codes": {"east": "110105003"}})


RANGE = "from=2026-11-22&to=2026-11-23"
HEADER = ("办件编号,评价渠道,评价渠道代码,评价人,评价时间,评价次数,满意度,满意度代码,省级接口代码,文字评价,行政区划,"
          "窗口,工号,申诉结果,评价记录号,工号核实")


def test_the_csv_has_one_row_per_rating_of_the_range(app, store):
    assert store.db.execute("SELECT event_id, at FROM ratings WHERE event_id IN ('rating-before', 'rating-after') "
                            "ORDER BY at").fetchall() == [("rating-before", 1_795_276_799_000),
                                                          ("rating-after", 1_795_449_600_000)], "just outside"
    client, _ = session(app, "boss", "boss password")
    response = client.get(f"/exports/gbt39046.csv?{RANGE}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="gbt39046-2026-11-22-2026-11-23.csv"'
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines == [
        HEADER,
        ",政务大厅其他终端,5,匿名,2026-11-22 00:00:00,1,非常满意,1,5,,110105,w01,1024,无,rating-four,否",  # 1024: on no roster
        ",政务大厅其他终端,5,匿名,2026-11-22 16:30:05,1,基本满意,3,3,,110105,w01,,无,rating-three,",
        "BJ-2026-000123,政务大厅其他终端,5,匿名,2026-11-23 09:15:00,1,不满意,4,2,等了很久；=再也不来,110105,w01,"
        "1024,无,rating-bad,否",
        ",政务大厅其他终端,5,匿名,2026-11-23 11:00:00,1,非常不满意,5,1,,110105003,w02,2048,无,rating-east,否",
    ]


def test_the_json_has_the_same_records_with_english_keys(app, store):
    client, _ = session(app, "boss", "boss password")
    response = client.get(f"/exports/gbt39046.json?{RANGE}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    records = json.loads(response.get_data(as_text=True))
    assert [r["rating_id"] for r in records] == ["rating-four", "rating-three", "rating-bad", "rating-east"]
    assert records[2] == {"case_no": "BJ-2026-000123", "channel": "政务大厅其他终端", "channel_code": "5",
                          "evaluator": "匿名", "time": "2026-11-23 09:15:00", "count": 1, "level": "不满意",
                          "level_code": 4, "provincial_code": 2, "text": "等了很久；=再也不来",
                          "area_code": "110105", "window": "w01", "staff": "1024", "appeal": None,
                          "rating_id": "rating-bad", "staff_verified": False}
    rows = list(csv.reader(io.StringIO(client.get(f"/exports/gbt39046.csv?{RANGE}").get_data(as_text=True)
                                       .lstrip("\ufeff"))))[1:]
    assert [r[-2] for r in rows] == [r["rating_id"] for r in records]
    assert list(records[0]) == gbt39046.KEYS and len(gbt39046.KEYS) == len(gbt39046.HEADERS)


def test_the_export_is_scoped_and_for_managers(app, store):
    client, _ = session(app, "east", "east password")
    records = client.get(f"/exports/gbt39046.json?{RANGE}").json
    assert [r["rating_id"] for r in records] == ["rating-east"]
    viewer, _ = session(app, "viewer", "viewer password")
    assert viewer.get(f"/exports/gbt39046.csv?{RANGE}").status_code == 403
    assert viewer.get("/exports/gbt39046").status_code == 403
    assert app.test_client().get(f"/exports/gbt39046.csv?{RANGE}").status_code == 302


@pytest.mark.parametrize("query", ["from=2026-11-30&to=2026-11-01", "from=2026-02-30", "from=2026-01-01&to=2026-12-31"])
def test_a_bad_or_too_long_range_is_refused(app, store, query):
    client, _ = session(app, "boss", "boss password")
    assert client.get(f"/exports/gbt39046.csv?{query}").status_code == 400


def test_defaults_before_any_settings_and_an_xlsx_too(app, store):
    store.db.execute("DELETE FROM settings WHERE key = 'export'")
    client, _ = session(app, "boss", "boss password")
    record = client.get(f"/exports/gbt39046.json?{RANGE}").json[0]
    assert (record["channel"], record["channel_code"], record["area_code"]) == ("政务大厅平板电脑", "4", None)
    assert client.get(f"/exports/gbt39046.xlsx?{RANGE}").status_code == 200
    page = client.get("/exports/gbt39046").get_data(as_text=True)
    assert "政务大厅平板电脑" in page and 'formaction="/exports/gbt39046.json"' in page


def test_the_admin_sets_channel_and_area_codes(app, store):
    client, token = session(app, "root", "root password")
    page = client.get("/admin/export").get_data(as_text=True)
    assert 'value="110105003"' in page and 'name="area_east"' in page
    response = client.post("/admin/export", data={"channel": "政务大厅平板电脑", "channel_code": "4",
                                                  "area_code": "320102", "area_hq": "320102001", "area_east": "",
                                                  "csrf_token": token})
    assert response.status_code == 302
    assert store.settings.setting("export") == {"channel": "政务大厅平板电脑", "channel_code": "4", "area_code": "320102",
                                       "site_area_codes": {"hq": "320102001"}}
    records = client.get(f"/exports/gbt39046.json?{RANGE}").json
    assert {r["window"]: r["area_code"] for r in records} == {"w01": "320102001", "w02": "320102"}
    assert {r["channel_code"] for r in records} == {"4"}


@pytest.mark.parametrize("change", [{"area_code": "1234567890"}, {"area_code": "32-01"}, {"channel": "微信"},
                                    {"channel_code": ""}, {"area_hq": "abc"}])
def test_bad_settings_are_refused_and_change_nothing(app, store, change):
    client, token = session(app, "root", "root password")
    before = store.settings.setting("export")
    form = {"channel": "政务大厅平板电脑", "channel_code": "4", "area_code": "320102", "csrf_token": token, **change}
    response = client.post("/admin/export", data=form)
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)
    assert store.settings.setting("export") == before


def test_export_settings_are_the_admins(app, store):
    client, token = session(app, "boss", "boss password")
    assert client.get("/admin/export").status_code == 403
    assert client.post("/admin/export", data={"channel": "电话", "channel_code": "6", "area_code": "",
                                              "csrf_token": token}).status_code == 403
    root, _ = session(app, "root", "root password")
    assert root.post("/admin/export", data={"channel": "电话", "channel_code": "6", "area_code": ""}).status_code == 400
    assert store.settings.setting("export")["channel"] == "政务大厅其他终端"
