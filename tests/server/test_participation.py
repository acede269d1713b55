"""参评率 (server/domain/participation.py): served customers posted by the window's business system and implied by
invites, counted once per case number, and ratings per served customer on the reports, the API and the exports,
flagged above 100%."""
from __future__ import annotations

import csv
import io
import json

import pytest

from server.domain.participation import participation
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from shared.contract import Status
from shared.timefmt import to_ms

from .conftest import NOW
from .events import event, msg
from .web import PASSWORD, As

TODAY = "from=2026-11-23&to=2026-11-23"


def test_the_rate_by_hand():
    assert participation(9, 10) == {"served": 10, "ratings": 9, "rate": 0.9, "over": False}
    assert participation(11, 10) == {"served": 10, "ratings": 11, "rate": 1.1, "over": True}
    assert participation(5, 0) == {"served": 0, "ratings": 5, "rate": None, "over": False}
    assert participation(0, 3)["rate"] == 0.0


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


def post(client, token, window, body, path="served"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    return client.post(f"/api/v1/windows/{window}/{path}", data=data, content_type="application/json",
                       headers={"Authorization": f"Bearer {token}"})


def test_counts_and_case_numbers_are_counted_once_with_the_clerk_on_duty(client, store, token):
    answer = post(client, token, "w01", {"count": 3, "at": "2026-11-23T09:30:00+08:00"})
    assert answer.status_code == 201 and answer.json == {"window": "w01", "added": 3, "duplicates": 0,
                                                          "at": "2026-11-23T09:30:00.000+08:00"}
    answer = post(client, token, "w01", {"cases": ["A-1", "A-2", "A-2"]})
    assert answer.status_code == 201 and (answer.json["added"], answer.json["duplicates"]) == (2, 0)
    again = post(client, token, "w01", {"case": "A-1"})  # the queueing system retried
    assert (again.json["added"], again.json["duplicates"]) == (0, 1)
    assert store.served.counts_of(["w01"], 0, 2**62) == {"w01": 5}
    assert store.served.staff_counts_by_window("1024", 0, 2**62) == {"w01": 5}


def test_an_invites_case_number_is_a_served_customer_counted_once(client, store, token):
    store.ingest.register_device("k1", "w01", to_ms(NOW))
    store.ingest.update_status("k1", Status(online=True, window="w01"))
    assert post(client, token, "w01", {"case": "370102-2026-000123"}, "invite").status_code == 202
    assert post(client, token, "w01", {"case": "370102-2026-000123"}).json["duplicates"] == 1
    assert store.served.counts_of(["w01"], 0, 2**62) == {"w01": 1}


@pytest.mark.parametrize("body", [
    {}, {"count": 0}, {"count": 1001}, {"count": True}, {"count": "3"}, {"count": 2.0}, {"count": 1, "case": "A"},
    {"cases": []}, {"cases": "A-1"}, {"cases": ["A"] * 501}, {"case": ""}, {"case": "办件 1"}, {"case": None},
    {"count": 1, "at": "yesterday"}, {"count": 1, "at": "2026-11-23T18:00:00+08:00"},
    {"count": 1, "at": "2026-11-01T09:00:00+08:00"}, [1], "not json",
])
def test_every_bad_body_is_a_400_with_a_reason_and_counts_nothing(client, store, token, body):
    answer = post(client, token, "w01", body)
    assert answer.status_code == 400 and answer.json["error"], answer.get_data(as_text=True)
    assert store.served.counts_of(["w01"], 0, 2**62) == {}


def test_an_unknown_window_no_token_and_a_huge_body_are_refused_in_json(client, store, token):
    assert post(client, token, "w99", {"count": 1}).status_code == 404
    assert post(client, "wrong", "w01", {"count": 1}).status_code == 401
    huge = post(client, token, "w01", json.dumps({"cases": ["A-1"], "pad": "x" * 70_000}))
    assert huge.status_code == 413 and "error" in huge.json


def test_reports_show_ratings_per_served_customer_and_flag_more_than_100_percent(app, client, store, token):
    post(client, token, "w01", {"count": 5, "at": "2026-11-23T09:30:00+08:00"})  # 4 ratings of 5 served: 80%
    post(client, token, "w02", {"count": 2, "at": "2026-11-23T10:30:00+08:00"})  # 3 ratings of 2 served: over
    headers = {"Authorization": f"Bearer {token}"}
    w01 = client.get(f"/api/v1/windows/w01/summary?{TODAY}", headers=headers).json["participation"]
    assert w01 == {"served": 5, "ratings": 4, "rate": 0.8, "over": False}
    w02 = client.get(f"/api/v1/windows/w02/summary?{TODAY}", headers=headers).json["participation"]
    assert w02 == {"served": 2, "ratings": 3, "rate": 1.5, "over": True}
    clerk = client.get(f"/api/v1/staff/2048/summary?{TODAY}", headers=headers).json
    assert clerk["participation"]["over"] and clerk["windows"][0]["participation"]["rate"] == 1.5

    boss = As(app, "boss")
    page = boss.text(f"/windows/w02?{TODAY}")
    assert 'data-participation="1.5"' in page and 'data-over="yes"' in page and "评价多于服务人数" in page
    assert 'data-participation="0.8"' in boss.text(f"/windows/w01?{TODAY}")
    per_clerk = boss.text(f"/windows/w02?{TODAY}").split('id="per-staff"')[1].split("</table>")[0]
    assert 'data-participation="1.5"' in per_clerk  # 2048's 3 ratings of the 2 customers served
    sheet = boss.get(f"/windows/w02.csv?{TODAY}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(sheet)))
    head = next(r for r in rows if "参评率" in r)
    line = next(r for r in rows[rows.index(head):] if r and r[0].startswith("2048"))
    assert line[head.index("服务人数")] == "2" and line[head.index("参评率")] == "1.5"
    assert line[head.index("参评率超过 100％")] == "是"
