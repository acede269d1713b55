"""Binding a rating to a case number on the server: the invite endpoint, the push to the kiosk, case_no stored."""
from __future__ import annotations

import json

import pytest

from server.ingest.ingestor import Ingestor
from server.ingest.invite_push import CHECK_SECONDS, INVITE_WAIT_SECONDS, RESEND_SECONDS, InvitePush
from shared.contract import Status, parse_invite
from shared.timefmt import to_ms

from .conftest import NOW
from .events import event, msg


@pytest.fixture
def token(store):
    return store.accounts.create_token("business-system", to_ms(NOW))


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def kiosk_at(store, device: str, window: str, online: bool = True) -> None:
    """A kiosk confirmed at `window`, as `ceval device add` makes it, and its status."""
    store.ingest.register_device(device, window, to_ms(NOW))
    store.ingest.update_status(device, Status(online=online, window=window))


def post(client, token, window, body):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    return client.post(f"/api/v1/windows/{window}/invite", data=data, headers=auth(token),
                       content_type="application/json")


# ------------------------------------------------------------------ the rating's case is stored

def test_a_ratings_case_is_stored_in_case_no_and_a_plain_rating_has_none(store, clock):
    result = Ingestor(store, clock).handle([
        msg(event(1, score=2, case="370102-2026-000123", reasons=["slow"])),
        msg(event(2, score=5)),
        msg(event(3, score=4, case="has space")),  # rejected: the contract's pattern
    ])
    assert (result.stored, result.rejected) == (2, 1)
    assert store.db.execute("SELECT event_id, score, case_no FROM ratings ORDER BY event_id").fetchall() == [
        ("stream-0001-000001", 2, "370102-2026-000123"), ("stream-0001-000002", 5, None)]
    reason = store.db.execute("SELECT reason FROM rejects").fetchone()[0]
    assert reason.startswith("case 'has space'")


# ------------------------------------------------------------------ the endpoint

def test_an_invite_is_queued_for_the_windows_kiosk(client, store, token):
    kiosk_at(store, "k-w03", "w03")
    response = post(client, token, "w03", {"case": "370102-2026-000123"})
    assert response.status_code == 202, response.json
    body = response.json
    assert body == {"id": body["id"], "window": "w03", "device": "k-w03", "case": "370102-2026-000123",
                    "expires": "2026-11-23T14:02:00.000+08:00"}
    row = store.invites.invite(body["id"])
    assert (row["window"], row["case_no"], row["device"], row["requested_by"], row["sent_at"]) == (
        "w03", "370102-2026-000123", "k-w03", "business-system", None)
    assert row["expires_at"] - row["created_at"] == INVITE_WAIT_SECONDS * 1000 == 120_000


def test_the_endpoint_needs_the_token(client, store, token):
    kiosk_at(store, "k-w03", "w03")
    for headers in ({}, auth("wrong")):
        response = client.post("/api/v1/windows/w03/invite", json={"case": "A1"}, headers=headers)
        assert response.status_code == 401 and "error" in response.json
    assert store.db.execute("SELECT count(*) FROM invites").fetchone()[0] == 0


def test_unknown_window_bad_case_and_no_kiosk_are_refused_with_a_json_error(client, store, token):
    kiosk_at(store, "k-w03", "w03")
    assert post(client, token, "w99", {"case": "A1"}).status_code == 404
    for body in ({"case": ""}, {"case": "a" * 51}, {"case": "办件 1"}, {"case": 12345}, {}, {"case": None},
                 [], "not json", b"\xff"):
        response = post(client, token, "w03", body)
        assert response.status_code == 400, body
        assert response.is_json and response.json["error"]
    store.ingest.ensure_window("w04", "k-new")  # a window whose kiosk reported itself but was never confirmed
    response = post(client, token, "w04", {"case": "A1"})
    assert response.status_code == 409 and "no confirmed kiosk" in response.json["error"]
    store.registry.create_window("w05", "5号窗口", None)
    assert post(client, token, "w05", {"case": "A1"}).status_code == 409
    assert store.db.execute("SELECT count(*) FROM invites").fetchone()[0] == 0, "nothing queued by a refusal"


def test_the_invite_endpoint_takes_only_post(client, store, token):
    kiosk_at(store, "k-w03", "w03")
    assert client.get("/api/v1/windows/w03/invite", headers=auth(token)).status_code == 405
    assert store.db.execute("SELECT count(*) FROM invites").fetchone()[0] == 0


def test_the_kiosk_the_window_names_is_preferred(store):
    kiosk_at(store, "k-old", "w03")
    kiosk_at(store, "k-new", "w03")  # confirmed at the same window, but the window still names k-old
    assert store.invites.window_kiosk("w03") == "k-old"
    store.registry.assign_device("k-new", "w03", to_ms(NOW))
    assert store.invites.window_kiosk("w03") == "k-new"
    assert store.invites.window_kiosk("w99") is None


# ------------------------------------------------------------------ the push from the collector's thread

class Broker:
    """What the collector's paho client does with a publish: a message id now, the broker's ack later."""

    def __init__(self):
        self.messages: list[tuple[int, str, bytes]] = []
        self.refuse = False

    def publish(self, topic: str, payload: bytes) -> int | None:
        if self.refuse:
            return None
        mid = len(self.messages) + 1
        self.messages.append((mid, topic, payload))
        return mid


def test_due_invites_go_to_their_online_kiosk_once_and_are_marked_sent(client, store, token, clock):
    kiosk_at(store, "k-w03", "w03")
    kiosk_at(store, "k-w04", "w04", online=False)
    first = post(client, token, "w03", {"case": "CASE-1"}).json["id"]
    waiting = post(client, token, "w04", {"case": "CASE-2"}).json["id"]
    broker = Broker()
    push = InvitePush(store, clock, broker.publish)
    assert push.due()
    push.run()
    assert [t for _, t, _ in broker.messages] == ["ceval/v1/k-w03/invite"], "the offline kiosk's invite waits"
    invite = parse_invite(broker.messages[0][2])
    assert (invite.id, invite.case, invite.ttl) == (first, "CASE-1", 120)
    assert invite.ts == "2026-11-23T06:00:00.000+00:00"
    assert not push.due()
    clock.advance(CHECK_SECONDS)
    push.run()
    assert len(broker.messages) == 1, "published and not yet acknowledged: not again so soon"
    push.published(broker.messages[0][0])
    assert store.invites.invite(first)["sent_at"] == to_ms(clock.now())
    assert push.sent == 1

    clock.advance(30)
    store.ingest.update_status("k-w04", Status(online=True))
    push.run()
    assert [t for _, t, _ in broker.messages][1:] == ["ceval/v1/k-w04/invite"]
    assert parse_invite(broker.messages[1][2]).ttl == 89, "what is left of its lifetime (89.75 s)"
    assert parse_invite(broker.messages[1][2]).id == waiting


def test_an_unacknowledged_invite_goes_again_with_its_id_and_an_expired_one_never(client, store, token, clock):
    kiosk_at(store, "k-w03", "w03")
    invite_id = post(client, token, "w03", {"case": "CASE-1"}).json["id"]
    broker = Broker()
    push = InvitePush(store, clock, broker.publish)
    broker.refuse = True  # paho could not take it: tried again at the next check
    push.run()
    broker.refuse = False
    clock.advance(CHECK_SECONDS)
    push.run()
    assert len(broker.messages) == 1
    clock.advance(RESEND_SECONDS)
    push.run()
    assert [parse_invite(p).id for _, _, p in broker.messages] == [invite_id, invite_id]
    push.published(broker.messages[0][0])  # the first copy's ack is stale: nothing recorded by it
    push.published(broker.messages[1][0])
    assert store.invites.invite(invite_id)["sent_at"] is not None

    late = post(client, token, "w03", {"case": "CASE-LATE"}).json["id"]
    clock.advance(INVITE_WAIT_SECONDS)
    push.run()
    assert len(broker.messages) == 2 and store.invites.invite(late)["sent_at"] is None, "expired: never sent"
