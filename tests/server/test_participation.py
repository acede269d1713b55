"""参评率 (server/domain/participation.py): served customers posted by the window's business system and implied by
invites, counted once per case number and put down to the clerk on duty, and ratings per served customer on the
reports, the API and the downloads, flagged above 100%."""
from __future__ import annotations

import io
import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from server.domain.figures import parse_range
from server.domain.participation import ON_DUTY_MS, participation
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.reporting.summary import staff_summary
from server.store import Served
from server.web.views import api
from shared.contract import Status
from shared.timefmt import parse_ts, to_ms

from ..helpers import csv_sections, query_plan, traced
from .conftest import NOW
from .events import event, msg
from .web import PASSWORD, As

TODAY = "from=2026-11-23&to=2026-11-23"
EVER = (0, 2**62)


def ms(text: str) -> int:
    return to_ms(parse_ts(text))


# ------------------------------------------------------------------ the rule

def test_the_rate_by_hand():
    assert participation(9, 10) == {"served": 10, "ratings": 9, "rate": 0.9, "over": False}
    assert participation(2, 3) == {"served": 3, "ratings": 2, "rate": 0.667, "over": False}
    assert participation(10, 10) == {"served": 10, "ratings": 10, "rate": 1.0, "over": False}  # 100% is no flag
    assert participation(11, 10) == {"served": 10, "ratings": 11, "rate": 1.1, "over": True}
    assert participation(0, 3) == {"served": 3, "ratings": 0, "rate": 0.0, "over": False}


def test_the_rate_is_undefined_while_nothing_served_is_known():
    assert participation(5, 0) == {"served": 0, "ratings": 5, "rate": None, "over": False}
    assert participation(0, 0)["rate"] is None


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("boss", hash_password(PASSWORD), "manager", None, 0)
    # w01: clerk 1024 rated 4 times this morning; w02: 3 ratings by 2048
    Ingestor(s, clock).handle(
        [msg(event(i + 1, score=5, staff="1024", ts=f"2026-11-23T09:0{i}:00.000+08:00")) for i in range(4)]
        + [msg(event(i + 1, stream="stream-w02", window="w02", staff="2048", score=4,
                     ts=f"2026-11-23T10:0{i}:00.000+08:00"), device="k2") for i in range(3)])


@pytest.fixture
def token(store):
    return store.accounts.create_token("queue-system", to_ms(NOW))


def post(client, token, window, body, path="served", **kw):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    kw.setdefault("content_type", "application/json")
    return client.post(f"/api/v1/windows/{window}/{path}", data=data,
                       headers={"Authorization": f"Bearer {token}"}, **kw)


def served_rows(store) -> list[tuple]:
    return store.db.execute("SELECT window, staff, at, count, case_no, source FROM served ORDER BY id").fetchall()


# ------------------------------------------------------------------ the endpoint

def test_a_count_is_recorded_with_its_time_the_token_and_the_clerk_on_duty(client, store, token):
    answer = post(client, token, "w01", {"count": 3, "at": "2026-11-23T09:30:00+08:00"})
    assert answer.status_code == 201 and answer.json == {"window": "w01", "added": 3, "duplicates": 0,
                                                          "at": "2026-11-23T09:30:00.000+08:00"}
    assert served_rows(store) == [("w01", "1024", ms("2026-11-23T09:30:00+08:00"), 3, None, "api:queue-system")]


def test_without_at_it_is_now(client, store, token):
    answer = post(client, token, "w01", {"count": 1})
    assert answer.json["at"] == "2026-11-23T14:00:00.000+08:00" and served_rows(store)[0][2] == to_ms(NOW)


def test_each_case_number_is_one_customer_counted_once_however_often_posted(client, store, token):
    answer = post(client, token, "w01", {"case_no": ["A-1", "A-2", "A-2"]})  # twice in one post: once
    assert answer.status_code == 201 and (answer.json["added"], answer.json["duplicates"]) == (2, 0)
    again = post(client, token, "w01", {"case_no": "A-1"})  # the queueing system retried
    assert again.status_code == 201 and (again.json["added"], again.json["duplicates"]) == (0, 1)
    retry = post(client, token, "w01", {"case_no": ["A-1", "A-2", "A-3"]})
    assert (retry.json["added"], retry.json["duplicates"]) == (1, 2)
    assert store.served.counts_of(["w01"], *EVER) == {"w01": 3}
    assert post(client, token, "w02", {"case_no": "A-1"}).json["added"] == 1  # once per window: another window's
    assert store.served.counts_of(["w01", "w02"], *EVER) == {"w01": 3, "w02": 1}


def test_case_and_cases_as_first_published_still_count(client, store, token):
    assert post(client, token, "w01", {"case": "B-1"}).json["added"] == 1
    assert post(client, token, "w01", {"cases": ["B-1", "B-2"]}).json == {
        "window": "w01", "added": 1, "duplicates": 1, "at": "2026-11-23T14:00:00.000+08:00"}
    assert store.served.counts_of(["w01"], *EVER) == {"w01": 2}


def test_an_invites_case_number_is_a_served_customer_counted_once(client, store, token):
    store.ingest.register_device("k1", "w01", to_ms(NOW))
    store.ingest.update_status("k1", Status(online=True, window="w01"))
    assert post(client, token, "w01", {"case": "370102-2026-000123"}, "invite").status_code == 202
    assert post(client, token, "w01", {"case_no": "370102-2026-000123"}).json["duplicates"] == 1
    assert post(client, token, "w01", {"case_no": "370102-2026-000124"}).json["added"] == 1
    assert post(client, token, "w01", {"case": "370102-2026-000124"}, "invite").status_code == 202  # posted first
    assert post(client, token, "w01", {"case": "370102-2026-000123"}, "invite").status_code == 202  # invited again
    assert store.served.counts_of(["w01"], *EVER) == {"w01": 2}
    assert [r[5] for r in served_rows(store)] == ["invite", "api:queue-system"]
    assert store.db.execute("SELECT count(*) FROM invites").fetchone()[0] == 3  # every invite still goes out


@pytest.mark.parametrize("body, says", [
    ({}, "exactly one of count or case_no"),
    ({"count": 1, "case_no": "A"}, "exactly one of count or case_no"),
    ({"case": "A", "cases": ["B"]}, "exactly one of count or case_no"),
    ({"count": 0}, "count must be a whole number from 1 to 1000"),
    ({"count": 1001}, "count must be a whole number from 1 to 1000"),
    ({"count": -3}, "count must be a whole number from 1 to 1000"),
    ({"count": True}, "count must be a whole number"),
    ({"count": "3"}, "count must be a whole number"),
    ({"count": 2.0}, "count must be a whole number"),
    ({"count": None}, "count must be a whole number"),
    ({"case_no": []}, "case_no must be a case number or a list of 1 to 500 case numbers"),
    ({"case_no": ["A"] * 501}, "case_no must be a case number or a list of 1 to 500 case numbers"),
    ({"case_no": ""}, "case_no: case '' is not 1 to 50 letters"),
    ({"case_no": "办件 1"}, "case_no: case '办件 1' is not"),
    ({"case_no": "A" * 51}, "case_no: case"),
    ({"case_no": None}, "case_no: case"),
    ({"case_no": 12345}, "case_no: case"),
    ({"case_no": {"no": "A-1"}}, "case_no: case"),
    ({"case_no": ["A-1", "bad one"]}, "case_no[1]: case 'bad one' is not"),
    ({"cases": ["A-1", ["A-2"]]}, "cases[1]: case"),
    ({"count": 1, "at": "yesterday"}, "at must be an RFC 3339 time with offset"),
    ({"count": 1, "at": "2026-11-23T09:00:00"}, "at must be an RFC 3339 time with offset"),  # no offset
    ({"count": 1, "at": 1763870400000}, "at must be an RFC 3339 time with offset"),
    ({"count": 1, "at": "2026-11-23T14:06:00+08:00"}, "at must be within the last 7 days and not in the future"),
    ({"count": 1, "at": "2026-11-16T13:59:00+08:00"}, "at must be within the last 7 days"),
    ([1], "the body must be a JSON object"),
    ("not json", "the body must be a JSON object"),
    ('{"count": 1', "the body must be a JSON object"),
    ("null", "the body must be a JSON object"),
])
def test_every_bad_body_is_a_400_saying_what_is_wrong_and_counts_nothing(client, store, token, body, says):
    answer = post(client, token, "w01", body)
    assert answer.status_code == 400 and answer.mimetype == "application/json"
    assert says in answer.json["error"], answer.json
    assert served_rows(store) == []


def test_a_body_not_sent_as_json_is_a_400(client, store, token):
    answer = post(client, token, "w01", '{"count": 1}', content_type="text/plain")
    assert answer.status_code == 400 and "Content-Type: application/json" in answer.json["error"]
    assert served_rows(store) == []


def test_the_edges_of_what_is_allowed_are_allowed(client, store, token):
    assert post(client, token, "w01", {"count": 1000, "at": "2026-11-16T14:01:00+08:00"}).status_code == 201
    assert post(client, token, "w01", {"count": 1, "at": "2026-11-23T14:04:00+08:00"}).status_code == 201
    assert post(client, token, "w01", {"case_no": [f"C-{i}" for i in range(500)]}).json["added"] == 500
    assert post(client, token, "w01", {"case_no": "A" * 50, "note": "unknown fields are ignored"}).status_code == 201
    assert store.served.counts_of(["w01"], *EVER) == {"w01": 1502}


def test_an_unknown_window_is_a_404_in_json(client, store, token):
    answer = post(client, token, "w99", {"count": 1})
    assert answer.status_code == 404 and answer.json == {"error": "unknown window 'w99'"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic Ym9zczp4"}])
def test_without_a_valid_token_it_is_a_401_in_json(client, store, headers):
    answer = client.post("/api/v1/windows/w01/served", data='{"count": 1}', content_type="application/json",
                         headers=headers)
    assert answer.status_code == 401 and answer.json["error"] and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert served_rows(store) == []


def test_a_body_over_64_kib_is_a_413_whether_announced_or_streamed(client, store, token):
    def streamed(body: bytes):
        return client.post("/api/v1/windows/w01/served", input_stream=io.BytesIO(body),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # as a WSGI server passes it on

    limit = api.SERVED_BODY_BYTES
    padded = b'{"count": 1}' + b" " * (limit + 1 - 12)  # valid JSON: only its length is wrong
    for answer in (post(client, token, "w01", padded), streamed(padded)):
        assert answer.status_code == 413 and answer.json == {"error": "the request body is larger than 64 KiB"}
    assert served_rows(store) == []
    assert post(client, token, "w01", padded[:limit]).status_code == 201 and streamed(padded[:limit]).status_code == 201


def test_posts_are_limited_per_token_across_windows_with_a_retry_after(app, client, store, token, monkeypatch):
    monkeypatch.setattr(api, "SERVED_RATE", "3 per minute")
    assert [post(client, token, w, {"count": 1}).status_code for w in ("w01", "w02", "w01")] == [201, 201, 201]
    refused = post(client, token, "w02", {"count": 1})
    assert refused.status_code == 429 and "slow down" in refused.json["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = store.accounts.create_token("another-system", to_ms(NOW))
    assert post(client, other, "w02", {"count": 1}).status_code == 201  # another token has its own count
    assert store.served.counts_of(["w01", "w02"], *EVER) == {"w01": 2, "w02": 2}


# ------------------------------------------------------------------ whose customer

def staff_event(store, clock, seq, staff, ts, window="w01", device="k1", stream="stream-0001"):
    Ingestor(store, clock).handle([msg(event(seq, type="staff", window=window, ts=ts, stream=stream,
                                             **({"staff": staff} if staff else {})), device=device)])


def test_the_clerk_is_the_one_signed_in_then_not_the_last_one_rated(client, store, token, clock):
    staff_event(store, clock, 5, "4096", "2026-11-23T11:00:00.000+08:00")  # 1024 rated until 09:03; 4096 from 11:00
    staff_event(store, clock, 6, None, "2026-11-23T12:00:00.000+08:00")  # 4096 signed out at noon
    for at, n in (("09:30", 1), ("11:30", 2), ("12:30", 4)):
        post(client, token, "w01", {"count": n, "at": f"2026-11-23T{at}:00+08:00"})
    assert [(r[1], r[3]) for r in served_rows(store)] == [("1024", 1), ("4096", 2), (None, 4)]
    assert store.served.counts_by_staff(*EVER) == {"1024": 1, "4096": 2}
    assert store.served.counts_of(["w01"], *EVER) == {"w01": 7}  # nobody's customers count for the window


def test_a_sign_in_or_rating_older_than_half_a_day_names_no_clerk(store):
    first, last = ms("2026-11-23T09:00:00+08:00"), ms("2026-11-23T09:03:00+08:00")  # 1024's ratings at w01
    entries = [Served(last + ON_DUTY_MS - 1, 1, "E-1"), Served(last + ON_DUTY_MS, 1, "E-2"), Served(first - 1, 1, "E-3")]
    assert store.served.add("w01", entries, "test", last, ON_DUTY_MS) == (3, 0)
    assert store.served.add("w03", [Served(last, 1, "E-1")], "test", last, ON_DUTY_MS) == (1, 0)  # no kiosk there
    assert [(r[0], r[1], r[4]) for r in served_rows(store)] == [
        ("w01", "1024", "E-1"), ("w01", None, "E-2"), ("w01", None, "E-3"), ("w03", None, "E-1")]


def test_the_last_sign_in_is_found_by_its_index_not_a_scan_of_every_event(store):
    with traced(store) as statements:
        store.served.clerk_at("w01", to_ms(NOW), to_ms(NOW) - ON_DUTY_MS)
    sign_ins = [s for s in statements if "type = 'staff'" in s]
    assert len(sign_ins) == 1
    plan = query_plan(store, sign_ins[0])
    assert "USING INDEX events_staff_changes" in plan and "TEMP B-TREE" not in plan, plan


def test_many_case_numbers_at_one_moment_look_the_clerk_up_once(store):
    at = ms("2026-11-23T10:00:00+08:00")
    with traced(store) as statements:
        assert store.served.add("w01", [Served(at, 1, f"D-{i}") for i in range(50)], "test", at, ON_DUTY_MS) == (50, 0)
    assert sum("FROM ratings" in s for s in statements) == 1


# ------------------------------------------------------------------ reports

@pytest.fixture
def posted(client, token):
    post(client, token, "w01", {"count": 5, "at": "2026-11-23T09:30:00+08:00"})  # 4 ratings of 5 served: 80%
    post(client, token, "w02", {"count": 2, "at": "2026-11-23T10:30:00+08:00"})  # 3 ratings of 2 served: over


def test_the_api_summaries_carry_participation(client, token, posted):
    headers = {"Authorization": f"Bearer {token}"}
    w01 = client.get(f"/api/v1/windows/w01/summary?{TODAY}", headers=headers).json["participation"]
    assert w01 == {"served": 5, "ratings": 4, "rate": 0.8, "over": False}
    w02 = client.get(f"/api/v1/windows/w02/summary?{TODAY}", headers=headers).json["participation"]
    assert w02 == {"served": 2, "ratings": 3, "rate": 1.5, "over": True}
    clerk = client.get(f"/api/v1/staff/2048/summary?{TODAY}", headers=headers).json
    assert clerk["participation"] == {"served": 2, "ratings": 3, "rate": 1.5, "over": True}
    assert [(w["window"], w["participation"]["rate"]) for w in clerk["windows"]] == [("w02", 1.5)]
    before = client.get("/api/v1/windows/w01/summary?from=2026-11-22&to=2026-11-22", headers=headers).json
    assert before["participation"] == {"served": 0, "ratings": 0, "rate": None, "over": False}


def test_a_clerk_who_served_where_nobody_rated_shows_that_window_at_0_percent(client, store, token, clock):
    staff_event(store, clock, 1, "2048", "2026-11-23T11:00:00.000+08:00", window="w03", device="k3",
                stream="stream-w03")
    post(client, token, "w03", {"count": 4, "at": "2026-11-23T11:10:00+08:00"})
    clerk = client.get(f"/api/v1/staff/2048/summary?{TODAY}", headers={"Authorization": f"Bearer {token}"}).json
    assert clerk["participation"] == {"served": 4, "ratings": 3, "rate": 0.75, "over": False}
    assert [(w["window"], w["participation"]) for w in clerk["windows"]] == [
        ("w02", {"served": 0, "ratings": 3, "rate": None, "over": False}),
        ("w03", {"served": 4, "ratings": 0, "rate": 0.0, "over": False})]


def test_a_clerks_summary_reads_the_titles_of_the_clerks_windows_only(store, posted):
    """A monthly report asks for each clerk of a city: each one's summary read all 5,000 windows' titles."""
    store.db.execute("UPDATE windows SET title = '社保窗口' WHERE window = 'w02'")
    days = parse_range("2026-11-23", "2026-11-23", ZoneInfo("Asia/Shanghai"), date(2026, 11, 23))
    with traced(store) as statements:
        clerk = staff_summary(store, "2048", days, to_ms(NOW))
    assert [(w["window"], w["title"]) for w in clerk["windows"]] == [("w02", "社保窗口")]
    titles = [s for s in statements if s.startswith("SELECT window, title FROM windows")]
    assert titles == ["SELECT window, title FROM windows WHERE window IN ('w02')"]


def test_the_window_report_shows_ratings_served_and_the_rate_flagged_above_100_percent(app, posted):
    boss = As(app, "boss")
    page = boss.text(f"/windows/w02?{TODAY}")
    figure = page.split('class="figure participation')[1].split("</div>")[0]
    assert figure.startswith(" over") and 'data-participation="1.5"' in figure and 'data-served="2"' in figure
    assert "150.0%" in figure and "评价 3 / 服务 2 人" in figure and "评价多于服务人数" in figure
    per_clerk = page.split('id="per-staff"')[1].split("</table>")[0]
    assert "<th>服务人数</th><th>参评率</th>" in per_clerk
    assert 'data-served="2"' in per_clerk and 'data-participation="1.5" data-over="yes"' in per_clerk
    assert "⚠ 请核查" in per_clerk
    fine = boss.text(f"/windows/w01?{TODAY}")
    assert 'data-participation="0.8" data-over="no"' in fine and "80.0%" in fine and "请核查" not in fine
    assert "无服务人数" in boss.text("/windows/w01?from=2026-11-22&to=2026-11-22")


def test_the_clerk_report_shows_it_too(app, posted):
    page = As(app, "boss").text(f"/staff/2048?{TODAY}")
    assert 'data-participation="1.5" data-over="yes"' in page.split('id="per-window"')[0]  # the clerk's figure
    per_window = page.split('id="per-window"')[1].split("</table>")[0]
    assert 'data-served="2"' in per_window and 'data-participation="1.5" data-over="yes"' in per_window


def test_the_english_pages_flag_it_in_english(app, posted):
    boss = As(app, "boss")
    boss.client.set_cookie("lang", "en")
    page = boss.text(f"/windows/w02?{TODAY}")
    assert "Participation" in page and "More ratings than customers served" in page


def test_the_downloads_give_ratings_served_rate_and_the_flag_and_the_reports_total(app, posted):
    boss = As(app, "boss")
    window = csv_sections(boss.get(f"/windows/w02.csv?{TODAY}").get_data(as_text=True))["分工号"]
    head = window[0]
    assert head[-4:] == ["留言", "服务人数", "参评率", "参评率超过 100％"]
    rows = {r[0].split("（")[0]: dict(zip(head, r)) for r in window[1:]}  # 2048（未核实）: not on the roster
    assert list(rows) == ["2048", "合计"]
    assert {k: rows["2048"][k] for k in ("评价数", "服务人数", "参评率", "参评率超过 100％")} == {
        "评价数": "3", "服务人数": "2", "参评率": "1.5", "参评率超过 100％": "是"}
    assert {k: rows["合计"][k] for k in ("评价数", "服务人数", "参评率", "参评率超过 100％")} == {
        "评价数": "3", "服务人数": "2", "参评率": "1.5", "参评率超过 100％": "是"}
    w01 = csv_sections(boss.get(f"/windows/w01.csv?{TODAY}").get_data(as_text=True))["分工号"]
    assert w01[-1][-3:] == ["5", "0.8", ""]  # 合计: 4 ratings of 5, not flagged
    none = csv_sections(boss.get("/windows/w01.csv?from=2026-11-22&to=2026-11-22").get_data(as_text=True))["分工号"]
    assert none == [head, ["合计", "", "0", "", "", "0", "0", "0", "", "", ""]]  # nothing served known: no rate


def test_the_clerk_download_too(app, posted):
    from openpyxl import load_workbook
    response = As(app, "boss").get(f"/staff/2048.xlsx?{TODAY}")
    sheet = load_workbook(io.BytesIO(response.data))["分窗口"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][-3:] == ["服务人数", "参评率", "参评率超过 100％"]
    assert [r[0] for r in rows[1:]] == ["w02", "合计"]
    assert rows[1][2] == 3 and rows[1][-3:] == [2, 1.5, "是"] and rows[2][-3:] == [2, 1.5, "是"]


def test_the_protocol_page_states_the_codes_bounds():
    from pathlib import Path
    text = Path(__file__).parents[2].joinpath("docs", "protocol.md").read_text(encoding="utf-8")
    section = text.split("`POST /api/v1/windows/{window}/served`")[1].split("\n- `")[0]
    hours = ON_DUTY_MS // 3_600_000
    for stated in (f"from 1 to {api.MAX_SERVED_COUNT}", f"1 to {api.MAX_SERVED_CASES} of them",
                   f"at most {api.SERVED_BODY_BYTES // 1024} KiB", f"last {api.SERVED_PAST_DAYS} days",
                   f"over {api.SERVED_RATE.split()[0]} posts a minute with one token", f"the {hours} hours before"):
        assert stated in section, stated
    assert api.SERVED_RATE.endswith("per minute")
