"""The contract's HTTP API through Flask's test client, on a real SQLite file."""
from __future__ import annotations

import pytest

from server.ingest.ingestor import Ingestor
from shared.contract import Status
from shared.timefmt import to_ms

from .conftest import NOW
from .events import event, msg
from .web import log_in


@pytest.fixture
def token(store):
    return store.accounts.create_token("tests", to_ms(NOW))


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def seed(store, clock):
    """w01: ratings either side of local midnight, absences (one still open), feedback."""
    def rating(seq, score, ts, scale=5):
        return msg(event(seq, score=score, scale=scale, ts=ts))

    Ingestor(store, clock).handle([
        rating(1, 5, "2026-11-22T23:59:59.000+08:00"),   # the 22nd in the hall
        rating(2, 1, "2026-11-22T16:00:00.000Z"),        # 00:00 on the 23rd in the hall
        rating(3, 4, "2026-11-23T09:00:00.000+08:00"),
        rating(4, 3, "2026-11-23T09:05:00.000+08:00"),
        rating(5, 2, "2026-11-23T09:10:00.000+08:00"),
        msg(event(6, type="presence", state="away", ts="2026-11-23T10:00:00.000+08:00")),
        msg(event(7, type="presence", state="present", ts="2026-11-23T10:15:00.000+08:00")),
        msg(event(8, type="feedback", text="<b>很好</b>", ts="2026-11-23T10:20:00.000+08:00")),
        msg(event(9, type="presence", state="away", ts="2026-11-23T13:50:00.000+08:00")),  # still away
    ])


def test_no_token_wrong_token_wrong_scheme_are_401(client, token):
    for headers in ({}, auth("not-a-token"), {"Authorization": f"Basic {token}"}, {"Authorization": "Bearer "}):
        response = client.get("/api/v1/windows", headers=headers)
        assert response.status_code == 401
        assert response.is_json and "error" in response.json
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_window_is_404(client, token):
    response = client.get("/api/v1/windows/w99/summary", headers=auth(token))
    assert response.status_code == 404 and "w99" in response.json["error"]


@pytest.mark.parametrize("query", ["from=2026-13-01&to=2026-11-30", "from=20261101&to=2026-11-30",
                                   "from=2026-11-30&to=2026-11-01", "from=yesterday", "to=2026-02-30"])
def test_bad_dates_are_400(client, token, store, clock, query):
    seed(store, clock)
    response = client.get(f"/api/v1/windows/w01/summary?{query}", headers=auth(token))
    assert response.status_code == 400 and response.json["error"]


def test_windows_lists_state(client, token, store, clock):
    seed(store, clock)
    store.ingest.update_status("k1", Status(online=True, window="w01", presence="away", outbox=0, version="0.1.0"))
    response = client.get("/api/v1/windows", headers=auth(token))
    assert response.status_code == 200
    assert response.json == [{"window": "w01", "title": "1号窗口", "device": "k1", "online": True,
                              "presence": "away", "staff": None}]


def test_summary_counts_local_days_and_open_absences(client, token, store, clock):
    seed(store, clock)
    body = client.get("/api/v1/windows/w01/summary?from=2026-11-23&to=2026-11-23", headers=auth(token)).json
    assert body["window"] == "w01" and body["from"] == body["to"] == "2026-11-23"
    assert body["ratings"] == {"total": 4, "by_score": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 0},
                               "satisfied_rate": 0.25, "index": 37.5}
    # 15 minutes, and one open since 13:50 counted up to the request at 14:00
    assert body["absences"] == {"count": 2, "total_seconds": 1500, "longest_seconds": 900}
    assert body["feedback"] == {"count": 1}
    clock.advance(60)
    later = client.get("/api/v1/windows/w01/summary?from=2026-11-23&to=2026-11-23", headers=auth(token)).json
    assert later["absences"]["total_seconds"] == 1560

    both = client.get("/api/v1/windows/w01/summary?from=2026-11-22&to=2026-11-23", headers=auth(token)).json
    assert both["ratings"]["total"] == 5 and both["ratings"]["satisfied_rate"] == 0.4


def test_summary_defaults_to_today_and_empty_is_null(client, token, store, clock):
    seed(store, clock)
    clock.advance(86400 * 3)
    body = client.get("/api/v1/windows/w01/summary", headers=auth(token)).json
    assert body["from"] == "2026-11-26"
    assert body["ratings"] == {"total": 0, "by_score": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
                               "satisfied_rate": None, "index": None}


def test_the_board_page_shows_todays_figures(client, store, clock):
    from server.domain.passwords import hash_password

    seed(store, clock)
    store.accounts.create_user("viewer", hash_password("viewer pass"), "viewer", None, 0)
    log_in(client, "viewer", "viewer pass")
    page = client.get("/").get_data(as_text=True)
    assert "1号窗口" in page and "25.0%" in page and "37.5" in page


def test_token_create_command_makes_a_working_token(tmp_path, app, client):
    from ..helpers import ceval

    result = ceval("token", "create", "integration", "--db", app.config["DATABASE"])
    assert result.returncode == 0, result.stderr
    assert client.get("/api/v1/windows", headers=auth(result.stdout.strip())).status_code == 200


def test_board_json_gives_each_windows_live_state(client, store, clock):
    from server.domain.passwords import hash_password

    seed(store, clock)  # w01 has been away since 13:50
    store.accounts.create_user("viewer", hash_password("viewer pass"), "viewer", None, 0)
    log_in(client, "viewer", "viewer pass")
    assert client.get("/board.json").json["windows"][0]["state"] == "offline"
    store.ingest.update_status("k1", Status(online=True, window="w01"))
    [w01] = client.get("/board.json").json["windows"]
    assert (w01["state"], w01["away_minutes"]) == ("away", 10)
    assert w01["today"] == client.get("/api/v1/windows/w01/summary",
                                      headers={"Authorization": "Bearer " + store.accounts.create_token("t", 0)}).json | {
        "window": "w01"}
    assert "离岗 10 分钟" in client.get("/").get_data(as_text=True)


def test_window_state_rules():
    from server.domain.figures import window_state

    assert window_state(False, "away", "1024", 0, 10**9) == {"state": "offline"}
    assert window_state(True, "away", "1024", 0, 125_000) == {"state": "away", "away_minutes": 2}
    assert window_state(True, "present", None, None, 0) == {"state": "no_clerk"}
    assert window_state(True, "present", "1024", None, 0) == {"state": "serving"}
