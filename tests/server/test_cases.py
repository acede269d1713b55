"""Bad-review follow-up: rules, cases opened on ingest, deadlines in the site's zone, the workflow and its
audit trail, who may do what, scoping, overdue counting, and the admin's rules and calendar pages."""
from __future__ import annotations

import io
import json
import re
import sqlite3

import pytest

from server.domain.cases import NotAllowed, Rules, bad_levels, check, is_bad, rules_from
from server.domain.passwords import hash_password
from server.followup import cases as followup_cases
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import PASSWORD, As

DAY = 24 * 3600


# ---------------------------------------------------------------- the pure rules
def test_default_rules_are_the_national_ones():
    rules = Rules()
    assert [s for s in range(1, 6) if is_bad(s, 5, rules)] == [1, 2]
    assert [s for s in range(1, 5) if is_bad(s, 4, rules)] == [1]
    assert [s for s in range(1, 4) if is_bad(s, 3, rules)] == [1]
    assert rules.days == 5


def test_stored_rules_are_read_with_defaults_for_what_is_broken():
    rules = rules_from({"bad": {"5": [1], "4": [1, 2], "3": [3], "9": [1]}, "days": 15})
    assert rules.bad[5] == {1} and rules.bad[4] == {1, 2} and rules.bad[3] == {1} and 9 not in rules.bad
    assert rules.days == 15
    assert rules_from({"days": 6}).days == 5 and rules_from("junk") == Rules()
    assert rules_from(rules.to_json()) == rules


def test_bad_levels_are_the_lowest_and_never_the_top():
    assert bad_levels(5, 2) == {1, 2}
    for scale, count in ((5, 0), (5, 5), (3, 3), (6, 1)):
        with pytest.raises(ValueError):
            bad_levels(scale, count)


def test_the_workflow_allows_what_each_status_allows():
    assert check("open", "note") == "open" and check("closed", "reopen") == "open"
    assert check("open", "close", {"callback_at": 1, "verdict": "satisfied"}) == "closed"
    with pytest.raises(NotAllowed) as refused:
        check("open", "close", {"callback_at": 1, "verdict": None})
    assert refused.value.code == "incomplete"
    for status, action in (("closed", "assign"), ("closed", "close"), ("open", "reopen"), ("closed", "callback")):
        with pytest.raises(NotAllowed):
            check(status, action)


# ---------------------------------------------------------------- opening on ingest
@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("west", "西部分中心", "Asia/Urumqi", "{}", False)
    s.registry.create_window("w01", "1号窗口", "hq")
    s.registry.create_window("w02", "2号窗口", "west")
    s.registry.create_clerk("1024", "张三", "hq", None)
    s.registry.create_clerk("2048", "李四", "west", None)
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.accounts.create_user("boss", hash_password(PASSWORD), "manager", None, 0)
    s.accounts.create_user("hq-boss", hash_password(PASSWORD), "manager", ["hq"], 0)
    s.accounts.create_user("west-boss", hash_password(PASSWORD), "manager", ["west"], 0)
    s.accounts.create_user("look", hash_password(PASSWORD), "viewer", None, 0)


def rows(store, sql, params=()):
    return store.db.execute(sql, params).fetchall()


def test_each_bad_rating_opens_one_case_and_good_ones_none(store, clock):
    ingest = Ingestor(store, clock)
    batch = [msg(event(seq, score=score, staff="1024", id=f"rating-{seq}"))
             for seq, score in enumerate([5, 4, 3, 2, 1], 1)]
    batch += [msg(event(1, stream="stream-3", window="w02", scale=3, score=score, staff="2048", id=f"scale3-{score}"),
                  device="k2") for score in (1,)]
    batch += [msg(event(2, stream="stream-3", window="w02", scale=3, score=2, id="scale3-2"), device="k2")]
    batch += [msg(event(6, type="feedback", text="态度很差", rating="rating-1", staff="1024"))]
    result = ingest.handle(batch)
    assert result.stored == 8
    assert rows(store, "SELECT rating_id, window, staff, score, scale, status, due_date FROM cases ORDER BY id") == [
        ("rating-4", "w01", "1024", 2, 5, "open", "2026-11-30"),   # Monday 23 Nov -> 5 working days -> Monday 30 Nov
        ("rating-5", "w01", "1024", 1, 5, "open", "2026-11-30"),
        ("scale3-1", "w02", "2048", 1, 3, "open", "2026-11-30")]
    assert rows(store, "SELECT case_id, user, action FROM case_log ORDER BY id") == [
        (1, "system", "opened"), (2, "system", "opened"), (3, "system", "opened")]
    # the same ratings again (a kiosk that missed its ack), alone and in a new batch: no second case
    again = ingest.handle(batch[:5] + [msg(event(7, score=1, id="rating-7"))])
    assert again.duplicates == 5 and again.stored == 1
    assert rows(store, "SELECT count(*), count(DISTINCT rating_id) FROM cases") == [(4, 4)]
    assert rows(store, "SELECT count(*) FROM case_log") == [(4,)]


def test_a_case_carries_the_case_number_its_rating_was_invited_for(app, store, clock):
    Ingestor(store, clock).handle([msg(event(1, score=1, case="GD2026-11-000123", id="rating-invited"))])
    assert rows(store, "SELECT rating_id, case_no FROM cases") == [("rating-invited", "GD2026-11-000123")]
    assert "GD2026-11-000123" in As(app, "boss").text("/cases/1")


def test_opening_is_part_of_the_batch_and_a_duplicate_case_is_ignored(store, clock):
    from server.followup.cases import CaseSeed
    seed = CaseSeed("x1", "w01", None, 1, 5, "BJ-2026-001", 1_795_000_000_000)
    assert followup_cases.open_cases(store, [seed, seed], 1_795_000_000_000, "Asia/Shanghai") == 1
    assert followup_cases.open_cases(store, [tuple(seed)], 1_795_000_000_000, "Asia/Shanghai") == 0
    assert rows(store, "SELECT case_no FROM cases") == [("BJ-2026-001",)]


def test_deadlines_count_from_the_local_day_in_the_sites_zone(store, clock):
    # 01:00 Tuesday in Shanghai is 23:00 Monday in Urumqi: the same instant, a different day given
    ingest = Ingestor(store, clock)
    ts = "2026-11-24T01:00:00.000+08:00"
    clock.advance(DAY)
    ingest.handle([msg(event(1, score=1, ts=ts, id="rating-east")),
                   msg(event(1, stream="stream-2", window="w02", score=1, ts=ts, id="rating-west"), device="k2"),
                   msg(event(1, stream="stream-3", window="w99", score=1, ts=ts, id="rating-nowhere"), device="k3")])
    assert dict(rows(store, "SELECT rating_id, due_date FROM cases")) == {
        "rating-east": "2026-12-01", "rating-west": "2026-11-30",
        "rating-nowhere": "2026-12-01"}  # a window in no site: Asia/Shanghai


def test_a_window_in_no_site_counts_its_deadlines_in_the_servers_zone(store, clock):
    clock.advance(DAY)
    Ingestor(store, clock, zone="Asia/Urumqi").handle([  # the server runs with --timezone Asia/Urumqi
        msg(event(1, window="w99", score=1, ts="2026-11-24T01:00:00.000+08:00", id="rating-nowhere"), device="k3")])
    assert rows(store, "SELECT rating_id, due_date FROM cases") == [("rating-nowhere", "2026-11-30")]


def test_deadlines_skip_spring_festival_and_count_its_make_up_days(store, clock):
    ingest = Ingestor(store, clock)
    ingest.handle([msg(event(1, score=2, ts="2026-02-13T16:00:00.000+08:00", id="rating-before")),
                   msg(event(2, score=1, ts="2026-10-09T10:00:00.000+08:00", id="national"))])
    # Fri 13 Feb: Sat 14 (调休), then 24, 25, 26, 27; Fri 9 Oct: Sat 10 (调休), 12, 13, 14, 15
    assert dict(rows(store, "SELECT rating_id, due_date FROM cases")) == {"rating-before": "2026-02-27",
                                                                         "national": "2026-10-15"}


def test_the_rules_setting_decides_what_is_bad_and_the_deadline(store, clock):
    followup_cases.set_case_rules(store, Rules({5: frozenset({1}), 4: frozenset({1, 2}), 3: frozenset({1})}, 15))
    Ingestor(store, clock).handle([
        msg(event(1, score=2, id="two-of-five")), msg(event(2, score=1, id="one-of-five")),
        msg(event(1, stream="stream-4", window="w01", scale=4, score=2, id="two-of-four"), device="k4")])
    assert dict(rows(store, "SELECT rating_id, due_date FROM cases")) == {
        "one-of-five": "2026-12-14", "two-of-four": "2026-12-14"}  # 15 working days after Monday 23 Nov


def test_the_admins_correction_moves_a_new_deadline(store, clock):
    from datetime import date

    from server.domain.workdays import Correction
    store.cases.save_corrections([Correction(date(2026, 11, 27), "off", "本地假日")])
    Ingestor(store, clock).handle([msg(event(1, score=1, id="rating-r"))])
    assert rows(store, "SELECT due_date FROM cases") == [("2026-12-01",)]


# ---------------------------------------------------------------- the web app
@pytest.fixture
def cases(store, clock):
    """Two bad ratings at hq (clerk 1024), one at west (2048), a good one; a comment on the first."""
    Ingestor(store, clock).handle([
        msg(event(1, score=1, staff="1024", reasons=["slow", "attitude"], id="rating-bad-hq",
                  ts="2026-11-23T09:00:00.000+08:00")),
        msg(event(2, type="feedback", text="<b>等了一个小时</b>", rating="rating-bad-hq", staff="1024")),
        msg(event(3, score=2, staff="1024", id="rating-bad-hq-2", ts="2026-11-23T10:00:00.000+08:00")),
        msg(event(4, score=5, staff="1024", id="rating-good-hq")),
        msg(event(1, stream="stream-2", window="w02", score=1, staff="2048", id="rating-bad-west"), device="k2"),
    ])
    return {rating.removeprefix("rating-"): case_id
            for case_id, rating in rows(store, "SELECT id, rating_id FROM cases")}


def test_a_case_goes_from_opening_to_closing_with_its_audit_trail(app, store, cases, clock):
    boss = As(app, "boss")
    case = cases["bad-hq"]
    page = boss.text(f"/cases/{case}")
    assert "1/5 非常不满意" in page and "办理时间长、态度不好" in page and "2026-11-23 09:00" in page
    assert "&lt;b&gt;等了一个小时&lt;/b&gt;" in page and "<b>等了" not in page
    assert "2026-11-30" in page and "剩 5 个工作日" in page

    assert boss.post(f"/cases/{case}/assign", {"assignee": "hq-boss"}).status_code == 302
    assert boss.post(f"/cases/{case}/note", {"note": "已调取录像核实"}).status_code == 302
    refused = boss.post(f"/cases/{case}/close")
    assert refused.status_code == 400 and "请先记录回访和群众对整改的评价" in refused.get_data(as_text=True)
    clock.advance(3600)
    assert boss.post(f"/cases/{case}/callback", {"at": "2026-11-23T15:00", "note": "已电话回访"}).status_code == 302
    refused = boss.post(f"/cases/{case}/close")
    assert refused.status_code == 400, "a verdict is still missing"
    assert boss.post(f"/cases/{case}/verdict", {"verdict": "basically"}).status_code == 302
    assert boss.post(f"/cases/{case}/close").status_code == 302
    assert rows(store, "SELECT status, assignee, callback_at, verdict, closed_at FROM cases WHERE id = ?", (case,)) == [
        ("closed", "hq-boss", 1_795_417_200_000, "basically", 1_795_417_200_000)]
    trail = rows(store, "SELECT at, user, action, detail FROM case_log WHERE case_id = ? ORDER BY id", (case,))
    assert [(user, action) for _, user, action, _ in trail] == [
        ("system", "opened"), ("boss", "assigned"), ("boss", "note"), ("boss", "callback"), ("boss", "verdict"),
        ("boss", "closed")]
    assert json.loads(trail[0][3]) == {"from": "2026-11-23", "days": 5, "due": "2026-11-30"}
    assert trail[1][3] == "hq-boss" and trail[2][3] == "已调取录像核实" and trail[4][3] == "basically"
    assert json.loads(trail[3][3]) == {"at": 1_795_417_200_000, "note": "已电话回访"}
    assert trail[5][0] == 1_795_417_200_000
    page = boss.text(f"/cases/{case}")
    assert "已办结" in page and "基本满意" in page and "已电话回访" in page and "指派" in page
    assert 'id="reopen-form"' in page and 'id="close-form"' not in page

    # closed: nothing but a note or a reopen; a reopen needs a new callback and verdict to close again
    assert boss.post(f"/cases/{case}/assign", {"assignee": "boss"}).status_code == 400
    assert boss.post(f"/cases/{case}/reopen").status_code == 302
    assert rows(store, "SELECT status, callback_at, verdict, closed_at FROM cases WHERE id = ?", (case,)) == [
        ("open", None, None, None)]
    assert boss.post(f"/cases/{case}/close").status_code == 400
    assert rows(store, "SELECT action FROM case_log WHERE case_id = ? ORDER BY id DESC LIMIT 1", (case,)) == [
        ("reopened",)]


@pytest.mark.parametrize("path, data, message", [
    ("assign", {"assignee": "look"}, "请选择一位能看到这个窗口的管理人员"),      # a viewer cannot follow up
    ("assign", {"assignee": "west-boss"}, "请选择一位能看到这个窗口的管理人员"),  # another site's manager
    ("assign", {"assignee": "nobody"}, "请选择一位能看到这个窗口的管理人员"),
    ("note", {"note": "   "}, "请填写备注"),
    ("note", {"note": "长" * 1001}, "备注最长 1000 个字"),
    ("callback", {"at": "2026-13-01T10:00"}, "回访时间须为"),
    ("callback", {"at": "2026-11-24T10:00"}, "回访时间不能晚于现在"),
    ("callback", {"at": "2026-11-22T10:00"}, "回访时间不能早于差评时间"),
    ("verdict", {"verdict": "great"}, "请选择群众对整改的评价"),
])
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(app, store, cases, path, data, message):
    case = cases["bad-hq"]
    response = As(app, "boss").post(f"/cases/{case}/{path}", data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert rows(store, "SELECT count(*) FROM case_log WHERE case_id = ?", (case,)) == [(1,)]
    assert rows(store, "SELECT assignee, callback_at, verdict FROM cases WHERE id = ?", (case,)) == [
        (None, None, None)]


def test_viewers_read_but_may_not_act_and_every_post_needs_its_token(app, store, cases):
    case = cases["bad-hq"]
    look = As(app, "look")
    page = look.text(f"/cases/{case}")
    assert "1/5" in page and 'id="close-form"' not in page and 'id="assign-form"' not in page
    assert f"#{case:d}" in look.text("/cases")
    for action in ("assign", "note", "callback", "verdict", "close", "reopen"):
        assert look.post(f"/cases/{case}/{action}", {"note": "x"}).status_code == 403
    boss = As(app, "boss")
    assert boss.post(f"/cases/{case}/note", {"note": "无令牌"}, csrf=False).status_code == 400
    assert app.test_client().get("/cases").status_code == 302
    assert rows(store, "SELECT count(*) FROM case_log WHERE case_id = ?", (case,)) == [(1,)]


def test_managers_see_and_act_on_their_own_sites_only(app, store, cases):
    hq = As(app, "hq-boss")
    page = hq.text("/cases")
    assert f'data-case="{cases["bad-hq"]}"' in page and f'data-case="{cases["bad-west"]}"' not in page
    assert hq.get(f"/cases/{cases['bad-west']}").status_code == 404
    assert hq.post(f"/cases/{cases['bad-west']}/note", {"note": "越权"}).status_code == 404
    assert hq.get("/cases?window=w02").status_code == 404
    assert hq.get("/cases/999").status_code == 404
    page = As(app, "boss").text("/cases")
    assert f'data-case="{cases["bad-west"]}"' in page


def test_overdue_cases_stand_out_and_are_counted_per_window_and_clerk(app, store, cases, clock):
    boss = As(app, "boss")
    page = boss.text("/cases")
    assert 'class="overdue"' not in page
    assert re.search(r'id="open-count">[^<]*<b>3</b>', page) and re.search(r'id="overdue-count">[^<]*<b>0</b>', page)
    clock.advance(6 * DAY)  # Sunday 29 Nov: due Monday 30th, not yet overdue
    assert 'class="overdue"' not in boss.text("/cases")
    clock.advance(DAY)  # Monday 30 Nov, the last day
    assert "今天到期" in boss.text("/cases")
    # close one at hq before it runs late
    case = cases["bad-hq-2"]
    boss.post(f"/cases/{case}/callback", {"at": "2026-11-30T10:00"})
    boss.post(f"/cases/{case}/verdict", {"verdict": "satisfied"})
    assert boss.post(f"/cases/{case}/close").status_code == 302
    clock.advance(2 * DAY)  # Wednesday 2 Dec
    page = boss.text("/cases")
    assert re.search(r'id="overdue-count">[^<]*<b>2</b>', page)
    assert f'<tr data-case="{cases["bad-hq"]}" class="overdue">' in page and "逾期 2 天" in page
    by_window = re.search(r'<table id="by-window">.*?</table>', page, re.S).group(0)
    assert re.search(r'data-window="w01" class="overdue">.*?<td class="open">1</td><td class="left">1</td>', by_window)
    assert re.search(r'data-window="w02" class="overdue">.*?<td class="open">1</td><td class="left">1</td>', by_window)
    by_staff = re.search(r'<table id="by-staff">.*?</table>', page, re.S).group(0)
    assert "张三（1024）" in by_staff and "李四（2048）" in by_staff
    overdue = boss.text("/cases?status=overdue")
    assert f'data-case="{cases["bad-hq"]}"' in overdue and f'data-case="{cases["bad-hq-2"]}"' not in overdue
    closed = boss.text("/cases?status=closed")
    assert f'data-case="{cases["bad-hq-2"]}"' in closed and f'data-case="{cases["bad-hq"]}"' not in closed
    assert store.cases.case_counts("staff", "Asia/Shanghai", {"Asia/Shanghai": "2026-12-02", "Asia/Urumqi": "2026-12-02"}) \
        == [{"key": "1024", "label": "张三", "windows": ["w01"], "total": 2, "open": 1, "overdue": 1},
            {"key": "2048", "label": "李四", "windows": ["w02"], "total": 1, "open": 1, "overdue": 1}]


@pytest.mark.parametrize("query, shown, hidden", [
    ("?status=all&staff=2048", ["bad-west"], ["bad-hq", "bad-hq-2"]),
    ("?status=all&window=w01", ["bad-hq", "bad-hq-2"], ["bad-west"]),
    ("?status=all&from=2026-11-24", [], ["bad-hq", "bad-west"]),
    ("?status=all&from=2026-11-23&to=2026-11-23", ["bad-hq", "bad-west"], []),
])
def test_the_list_filters(app, store, cases, query, shown, hidden):
    page = As(app, "boss").text("/cases" + query)
    for rating in shown:
        assert f'data-case="{cases[rating]}"' in page
    for rating in hidden:
        assert f'data-case="{cases[rating]}"' not in page


@pytest.mark.parametrize("query", ["?status=late", "?from=2026-02-30", "?from=2026-11-24&to=2026-11-01"])
def test_bad_filters_get_a_clear_error(app, store, cases, query):
    response = As(app, "boss").get("/cases" + query)
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)


# ---------------------------------------------------------------- the admin's pages
def test_the_admin_sets_the_rules(app, store, clock):
    root = As(app, "root")
    page = root.text("/admin/cases")
    assert "最低 2 级（非常不满意、不满意）" in page
    assert As(app, "boss").get("/admin/cases").status_code == 403
    for form in ({"bad_5": "5", "bad_4": "1", "bad_3": "1", "days": "5"},
                 {"bad_5": "2", "bad_4": "1", "bad_3": "1", "days": "6"},
                 {"bad_5": "2", "bad_4": "x", "bad_3": "1", "days": "7"}):
        response = root.post("/admin/cases", form)
        assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)
    assert store.settings.setting("cases") is None
    assert root.post("/admin/cases", {"bad_5": "1", "bad_4": "2", "bad_3": "1", "days": "7"}).status_code == 302
    assert store.settings.setting("cases") == {"bad": {"3": [1], "4": [1, 2], "5": [1]}, "days": 7}
    Ingestor(store, clock).handle([msg(event(1, score=2, id="not-bad-now")), msg(event(2, score=1, id="rating-bad"))])
    assert rows(store, "SELECT rating_id, due_date FROM cases") == [("rating-bad", "2026-12-02")]


def test_the_admin_corrects_the_calendar_and_open_deadlines_follow(app, store, cases):
    root = As(app, "root")
    page = root.text("/admin/holidays?year=2026")
    assert "春节" in page and "国庆节" in page and 'id="no-official"' not in page
    assert 'data-day="2026-02-14" class="work"' in page and 'data-day="2026-02-16" class="off"' in page
    assert As(app, "boss").get("/admin/holidays").status_code == 403

    response = root.post("/admin/holidays", {"year": "2026", "day": "2026-11-27", "kind": "off", "name": "本地假日"})
    assert response.status_code == 302
    assert rows(store, "SELECT * FROM holidays") == [("2026-11-27", "off", "本地假日")]
    assert set(rows(store, "SELECT due_date FROM cases WHERE status = 'open'")) == {("2026-12-01",)}
    moved = rows(store, "SELECT user, action, detail FROM case_log WHERE action = 'rescheduled' ORDER BY case_id")
    assert len(moved) == 3 and moved[0][:2] == ("root", "rescheduled")
    assert json.loads(moved[0][2]) == {"from": "2026-11-30", "to": "2026-12-01"}
    assert 'data-day="2026-11-27" class="off corrected"' in root.text("/admin/holidays?year=2026")

    assert root.post("/admin/holidays/remove", {"year": "2026", "day": "2026-11-27"}).status_code == 302
    assert rows(store, "SELECT count(*) FROM holidays") == [(0,)]
    assert set(rows(store, "SELECT due_date FROM cases")) == {("2026-11-30",)}
    assert root.post("/admin/holidays/remove", {"year": "2026", "day": "2026-11-27"}).status_code == 400
    for form in ({"year": "2026", "day": "2026-02-30", "kind": "off"}, {"year": "2026", "day": "2026-03-02",
                                                                        "kind": "holiday"}):
        response = root.post("/admin/holidays", form)
        assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)
    assert root.get("/admin/holidays?year=20x6").status_code == 400


def test_2027_is_flagged_until_the_admin_uploads_its_holidays(app, store):
    root = As(app, "root")
    page = root.text("/admin/holidays?year=2027")
    assert 'id="no-official"' in page and "还没有 2027 年的官方节假日安排" in page

    bad = "2027-01-01,off,元旦\n2027-02-30,off,春节\n2027-02-06,rest,春节调休\n"
    response = root.post("/admin/holidays/upload", {"year": "2027", "file": (io.BytesIO(bad.encode()), "h.csv")},
                         content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "第 2 行" in text and "第 3 行" in text
    assert rows(store, "SELECT count(*) FROM holidays") == [(0,)], "all or nothing"

    good = "# 2027 年\n2027-01-01,off,元旦\n2027-02-06,work,春节调休\n"
    for encoding in ("utf-8-sig", "gb18030"):
        response = root.post("/admin/holidays/upload",
                             {"year": "2027", "file": (io.BytesIO(good.encode(encoding)), "h.csv")},
                             content_type="multipart/form-data")
        assert response.status_code == 302
        assert rows(store, "SELECT * FROM holidays ORDER BY day") == [("2027-01-01", "off", "元旦"),
                                                                      ("2027-02-06", "work", "春节调休")]
    page = root.text("/admin/holidays?year=2027")
    assert 'data-day="2027-02-06" class="work corrected"' in page
    assert 'data-day="2027-01-01" class="off corrected"' in page
    empty = root.post("/admin/holidays/upload", {"year": "2027", "file": (io.BytesIO(b"# nothing\n"), "h.csv")},
                      content_type="multipart/form-data")
    assert empty.status_code == 400


def test_a_rule_broken_by_hand_does_not_stop_ingestion(store, clock):
    store.db.execute("UPDATE sites SET timezone = 'Mars/Olympus' WHERE site = 'hq'")
    result = Ingestor(store, clock).handle([msg(event(1, score=1, id="rating-r"))])
    assert result.stored == 1 and rows(store, "SELECT due_date FROM cases") == [("2026-11-30",)]


def test_a_case_row_per_rating_is_enforced_by_the_schema(store):
    store.db.execute("INSERT INTO cases (rating_id, window, score, scale, opened_at, due_date) "
                     "VALUES ('x', 'w01', 1, 5, 0, '2026-01-01')")
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("INSERT INTO cases (rating_id, window, score, scale, opened_at, due_date) "
                         "VALUES ('x', 'w01', 1, 5, 0, '2026-01-01')")
