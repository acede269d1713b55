"""Hostile payloads: whatever bytes arrive, the contract's parsers answer with an Event/Status or a
ContractError, never another exception, and the reason stays short."""
from __future__ import annotations

import json

import pytest

from shared.contract import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    ContractError,
    parse_ack,
    parse_config,
    parse_event,
    parse_invite,
    parse_status,
)
from shared.topics import TopicError, parse_topic

RATING = {"v": 1, "id": "01JDQ6Y1ZC6J1W9M0X9QK3T1AB", "stream": "k7f3q9x2", "seq": 7,
          "ts": "2026-11-23T09:15:02.481+08:00", "window": "w03", "type": "rating", "score": 5, "scale": 5}


def with_field(name: str, raw: str) -> bytes:
    """RATING with `name` set to the raw JSON text `raw` (which json.dumps could not write)."""
    body = json.dumps({**RATING, name: 0})
    return body.replace(f'"{name}": 0', f'"{name}": {raw}').encode()


HOSTILE = {
    "nested arrays, 4 KiB": b"[" * 2048 + b"]" * 2048,
    "nested objects, 4 KiB": b'{"a":' * 800 + b"1" + b"}" * 800,
    "nested in a field": with_field("pad", "[" * 1500 + "]" * 1500),
    "100k deep": b"[" * 100_000 + b"]" * 100_000,
    "a number of 4000 digits": with_field("seq", "9" * 4000),
    "a float beyond double": with_field("seq", "1e999999"),
    "NaN": with_field("score", "NaN"),
    "Infinity": with_field("score", "-Infinity"),
    "a lone surrogate escape": with_field("window", '"\\ud800"'),
    "a surrogate in UTF-8 bytes": json.dumps({**RATING, "window": "w"}).replace('"w"', '"\xed\xa0\x80"')
    .encode("latin-1"),
    "not UTF-8": b'{"v": 1, "x": "\xff\xfe"}',
    "a JSON array": b"[1, 2, 3]",
    "a JSON string": b'"hello"',
    "a JSON number": b"1e400",
    "JSON null": b"null",
    "empty": b"",
    "NUL bytes": b"\x00" * 100,
}
# hostile to every parser, whatever its fields mean
STRUCTURAL = {k: v for k, v in HOSTILE.items() if k not in ("a number of 4000 digits", "a float beyond double",
                                                          "a lone surrogate escape")} | {
    "a surrogate anywhere": b'{"v": 1, "online": true, "x": "\\udfff"}',
}
HOSTILE |= {
    "a reasons list nested deep": json.dumps({**RATING, "score": 1, "reasons": [[[[["x"]]]]]}).encode(),
    "a 4000-character window": json.dumps({**RATING, "window": "w" * 3900}).encode(),
    "a huge string version": json.dumps({**RATING, "v": "1" * 3900}).encode(),
}


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_hostile_event_is_a_contract_error_with_a_short_reason(payload):
    with pytest.raises(ContractError) as caught:
        parse_event(payload)
    assert len(caught.value.reason) <= 200


@pytest.mark.parametrize("parse", [parse_status, parse_ack, parse_invite, parse_config])
@pytest.mark.parametrize("payload", STRUCTURAL.values(), ids=STRUCTURAL.keys())
def test_every_hostile_message_of_another_kind_is_a_contract_error(parse, payload):
    with pytest.raises(ContractError) as caught:
        parse(payload)
    assert len(caught.value.reason) <= 200


def test_nesting_is_refused_before_it_is_decoded():
    deep = json.dumps({**RATING, "pad": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}).encode()
    assert parse_event(deep).id == RATING["id"]  # MAX_DEPTH levels are fine
    with pytest.raises(ContractError, match="more than 16 levels deep"):
        parse_event(json.dumps({**RATING, "pad": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}).encode())


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = "[" * 300 + '\\"{' * 100
    event = parse_event(json.dumps({**RATING, "type": "feedback", "text": text[:500]}).encode())
    assert event.text == text[:500]


def test_an_oversize_nested_event_still_names_nothing_and_raises_contract_error():
    payload = b'{"stream": "k7f3q9x2", "seq": 7, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert len(payload) > MAX_EVENT_BYTES
    with pytest.raises(ContractError) as caught:
        parse_event(payload)
    assert (caught.value.stream, caught.value.seq) == (None, None)


def test_a_hostile_status_keeps_only_what_is_well_formed():
    status = parse_status(json.dumps({"v": 1, "online": True, "window": "w" * 3000, "version": {"a": [1]},
                                      "outbox": 1e300, "presence": "AWAY"}).encode())
    assert (status.window, status.version, status.outbox, status.presence) == (None, None, None, None)
    assert parse_status(b'{"v": 1, "online": true, "version": 2}').version == "2"


@pytest.mark.parametrize("name", ["ceval/v1/" + "k" * 70_000 + "/event", "x" * 70_000, "ceval/v1/k1/" + "e" * 70_000])
def test_a_huge_topic_is_quoted_short(name):
    with pytest.raises(TopicError) as caught:
        parse_topic(name)
    assert len(str(caught.value)) <= 200
