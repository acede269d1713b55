"""The case-number extension of contract v1: `case` on ratings and the server's invite to a kiosk."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.contract import (
    CASE_PATTERN,
    MAX_INVITE_TTL,
    ContractError,
    Event,
    Invite,
    parse_case,
    parse_event,
    parse_invite,
)
from shared.topics import TopicError, parse_topic, topic

RATING = {"v": 1, "id": "01JDQ6Y1ZC6J1W9M0X9QK3T1AB", "stream": "k7f3q9x2", "seq": 1042,
          "ts": "2026-11-23T09:15:02.481+08:00", "window": "w03", "staff": "1024",
          "type": "rating", "score": 5, "scale": 5}
INVITE = {"v": 1, "id": 17, "case": "370102-2026-000123", "ts": "2026-11-23T09:14:58.120+08:00", "ttl": 120}


def encode(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


GOOD_CASES = ["370102-2026-000123", "SP20261123000001", "A", "1", "a" * 50, "gd/2026/11.23_0007",
              "11370100MB28554130-2026.A"]
BAD_CASES = ["", "a" * 51, "-370102", ".hidden", "/2026", "_x", "3701 02", "370102\n", "\n370102",
             "办件0001", "３７０１", "x\x00y", "x\ty", "case#1", "a+b", "ｘ", "370102\u200b"]


@pytest.mark.parametrize("case", GOOD_CASES)
def test_a_rating_carries_a_valid_case_number_and_round_trips(case):
    event = parse_event(encode({**RATING, "case": case}))
    assert event.case == case
    assert json.loads(event.to_json())["case"] == case
    assert parse_event(event.to_json()) == event


@pytest.mark.parametrize("case", BAD_CASES + [17, True, ["x"], {"no": 1}])
def test_a_bad_case_number_rejects_the_rating_naming_the_field(case):
    with pytest.raises(ContractError, match=r"^case ") as raised:
        parse_event(encode({**RATING, "case": case}))
    assert (raised.value.stream, raised.value.seq) == ("k7f3q9x2", 1042), "still counts as handled for the ack"


def test_no_case_or_null_case_is_a_plain_rating_as_before():
    for data in (RATING, {**RATING, "case": None}):
        event = parse_event(encode(data))
        assert event.case is None
        assert "case" not in json.loads(event.to_json())


def test_case_on_another_event_type_is_an_unknown_field_and_ignored():
    presence = {**RATING, "type": "presence", "state": "away", "case": "not checked here!"}
    event = parse_event(encode(presence))
    assert event.case is None and "case" not in json.loads(event.to_json())


def test_an_old_reader_sees_a_rating_with_a_case_as_a_valid_rating():
    """Old servers ignore the field: the payload stays a valid v1 rating in every other respect."""
    event = parse_event(encode({**RATING, "case": "370102-2026-000123"}))
    old = Event(**{**event.__dict__, "case": None})
    assert (old.type, old.score, old.scale) == ("rating", 5, 5)


@pytest.mark.parametrize("case", GOOD_CASES)
def test_parse_case_accepts(case):
    assert parse_case(case) == case


@pytest.mark.parametrize("case", BAD_CASES + [None, 5])
def test_parse_case_refuses_with_a_reason(case):
    with pytest.raises(ContractError, match="1 to 50 letters, digits"):
        parse_case(case)


# ------------------------------------------------------------------ the invite message

def test_an_invite_parses_and_round_trips():
    invite = parse_invite(encode(INVITE))
    assert invite == Invite(17, "370102-2026-000123", "2026-11-23T09:14:58.120+08:00", 120)
    assert json.loads(invite.to_json()) == INVITE
    assert parse_invite(invite.to_json()) == invite


def test_unknown_fields_of_an_invite_are_ignored():
    assert parse_invite(encode({**INVITE, "window": "w03", "expires": "whenever"})).case == INVITE["case"]


@pytest.mark.parametrize("field,value,reason", [
    ("v", 2, "version"), ("v", "1", "version"), ("v", None, "version"),
    ("id", 0, "id"), ("id", "17", "id"), ("id", 1.0, "id"), ("id", True, "id"), ("id", None, "id"),
    ("id", 2**53, "id"),
    ("case", "", "case"), ("case", "a b", "case"), ("case", None, "case"), ("case", "a" * 51, "case"),
    ("ts", "2026-11-23 09:14:58+08:00", "ts"), ("ts", "2026-11-23T09:14:58", "ts"), ("ts", None, "ts"),
    ("ttl", 0, "ttl"), ("ttl", -5, "ttl"), ("ttl", 1.5, "ttl"), ("ttl", "120", "ttl"), ("ttl", None, "ttl"),
    ("ttl", MAX_INVITE_TTL + 1, "ttl"),
])
def test_a_bad_invite_is_refused_naming_the_field(field, value, reason):
    data = dict(INVITE)
    if value is None:
        del data[field]
    else:
        data[field] = value
    with pytest.raises(ContractError, match=reason):
        parse_invite(encode(data))


@pytest.mark.parametrize("payload", [b"", b"[]", b"not json", b"\xff\xfe", encode({**INVITE, "pad": "x" * 5000})])
def test_an_invite_that_is_not_a_small_json_object_is_refused(payload):
    with pytest.raises(ContractError):
        parse_invite(payload)


def test_the_invite_topic_is_a_contract_topic():
    assert topic("k-w03", "invite") == "ceval/v1/k-w03/invite"
    assert parse_topic("ceval/v1/k-w03/invite") == ("k-w03", "invite")
    with pytest.raises(TopicError):
        parse_topic("ceval/v1/k-w03/invites")


# ------------------------------------------------------------------ docs/protocol.md says the same

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_the_documented_invite_example_parses():
    lines = DOC.read_text(encoding="utf-8").splitlines()
    at = lines.index("<!-- checked: invite -->")
    assert lines[at + 1] == "```text" and lines[at + 3] == "```"
    invite = parse_invite(lines[at + 2].encode())
    assert json.loads(invite.to_json()) == json.loads(lines[at + 2]), "every field of the example is kept"


def test_the_documented_case_pattern_is_the_codes():
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"1 to 50 characters,\s+matching as a whole string `([^`]+)`", text)
    assert match, "docs/protocol.md no longer states the case number's pattern"
    assert "^" + match.group(1) + "\\Z" == CASE_PATTERN.pattern
