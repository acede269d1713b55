"""Contract v1 as `shared/` implements it: what is accepted, what is rejected and why.

Tables of cases, each written from the contract's wording (docs/protocol.md),
not from the code.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.broker_url import BrokerAddress, parse_broker_url
from shared.contract import (
    Ack,
    Config,
    ContractError,
    Event,
    Status,
    parse_ack,
    parse_config,
    parse_event,
    parse_status,
)
from shared.scoring import index_points, is_bad, is_satisfied
from shared.timefmt import format_ts, from_ms, parse_ts, to_ms
from shared.topics import TopicError, parse_topic, subscription, topic

STREAM = "k7f3q9x2"
SEQ = 1042
COMMON = {"v": 1, "id": "01JDQ6Y1ZC6J1W9M0X9QK3T1AB", "stream": STREAM, "seq": SEQ,
          "ts": "2026-11-23T09:15:02.481+08:00", "window": "w03", "staff": "1024"}
VALID = {
    "rating": {**COMMON, "type": "rating", "score": 5, "scale": 5},
    "rating-with-reasons": {**COMMON, "type": "rating", "score": 1, "scale": 3, "reasons": ["slow", "attitude"]},
    "presence-away": {**COMMON, "type": "presence", "state": "away"},
    "presence-present": {**COMMON, "type": "presence", "state": "present"},
    "feedback": {**COMMON, "type": "feedback", "text": "办事很快，谢谢！", "rating": "01JDQ6Y1ZC6J1W9M0X9QK3T1AA"},
    "feedback-alone": {**COMMON, "type": "feedback", "text": "Clear answers."},
    "staff": {**COMMON, "type": "staff", "staff": "1031"},
    "staff-nobody": {k: v for k, v in COMMON.items() if k != "staff"} | {"type": "staff"},
}
RATING = VALID["rating"]


def encode(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def changed(base: dict, **fields) -> dict:
    """`base` with `fields` set; a field given as MISSING is removed."""
    out = dict(base)
    for name, value in fields.items():
        if value is MISSING:
            out.pop(name, None)
        else:
            out[name] = value
    return out


MISSING = object()


def padded_to(size: int, base: dict = RATING) -> bytes:
    """A valid event made exactly `size` bytes long with an unknown field."""
    empty = len(encode(changed(base, pad="")))
    payload = encode(changed(base, pad="x" * (size - empty)))
    assert len(payload) == size
    return payload


# ------------------------------------------------------------------ accepted

@pytest.mark.parametrize("name", VALID)
def test_valid_event_round_trips(name):
    data = VALID[name]
    event = parse_event(encode(data))
    assert isinstance(event, Event)
    assert (event.id, event.stream, event.seq, event.ts, event.window, event.type) == (
        data["id"], data["stream"], data["seq"], data["ts"], data["window"], data["type"])
    assert event.staff == data.get("staff")
    assert json.loads(event.to_json()) == data
    assert parse_event(event.to_json()) == event


def test_parsed_fields_of_each_type():
    rating = parse_event(encode(VALID["rating-with-reasons"]))
    assert (rating.score, rating.scale, rating.reasons) == (1, 3, ("slow", "attitude"))
    assert parse_event(encode(VALID["presence-away"])).state == "away"
    feedback = parse_event(encode(VALID["feedback"]))
    assert (feedback.text, feedback.rating) == ("办事很快，谢谢！", "01JDQ6Y1ZC6J1W9M0X9QK3T1AA")
    assert parse_event(encode(VALID["feedback-alone"])).rating is None
    assert parse_event(encode(VALID["staff-nobody"])).staff is None


def test_to_json_is_utf8_not_escaped():
    payload = parse_event(encode(VALID["feedback"])).to_json()
    assert "办事很快".encode() in payload


@pytest.mark.parametrize("name", VALID)
def test_unknown_fields_are_ignored(name):
    data = VALID[name]
    extra = changed(data, note="from a newer kiosk", firmware={"build": 7}, tags=[1, 2])
    assert parse_event(encode(extra)) == parse_event(encode(data))
    assert "note" not in json.loads(parse_event(encode(extra)).to_json())


@pytest.mark.parametrize("data", [
    changed(VALID["presence-away"], score="not a score", scale=99, text=""),
    changed(VALID["staff"], state="sleeping", reasons="x"),
    changed(RATING, state="nonsense", text=42),
], ids=["presence-with-rating-fields", "staff-with-presence-fields", "rating-with-other-fields"])
def test_fields_of_another_type_are_unknown_fields(data):
    parse_event(encode(data))


@pytest.mark.parametrize("field,value", [
    ("id", "a" * 8), ("id", "a" * 64), ("id", "编号-一二三四五六"),
    ("stream", "s" * 8), ("stream", "s" * 64),
    ("seq", 1), ("seq", 2**31 + 1),
    ("window", "w"), ("window", "0"), ("window", "a" * 32), ("window", "hall-2-w03"),
    ("staff", "A"), ("staff", "Z" * 16), ("staff", "ab-12-CD"), ("staff", None), ("staff", MISSING),
    ("ts", "2026-11-23T09:15:02+08:00"), ("ts", "2026-11-23T01:15:02.481Z"),
    ("ts", "2026-11-23T09:15:02.4-03:30"), ("ts", "2026-11-23T09:15:02.123456+05:45"),
    ("ts", "2020-01-01T00:00:00.000+00:00"),  # implausible times are re-timed by the server, not rejected
])
def test_accepted_common_fields(field, value):
    event = parse_event(encode(changed(RATING, **{field: value})))
    if value is not MISSING:
        assert getattr(event, field) == value
    else:
        assert getattr(event, field) is None


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_every_score_of_each_scale_is_accepted(scale):
    for score in range(1, scale + 1):
        event = parse_event(encode(changed(RATING, score=score, scale=scale)))
        assert (event.score, event.scale) == (score, scale)


@pytest.mark.parametrize("reasons,expected", [
    (MISSING, ()), (None, ()), ([], ()), (["slow"], ("slow",)),
    (["x" * 32], ("x" * 32,)), ([f"r{i}" for i in range(16)], tuple(f"r{i}" for i in range(16))),
    (["慢"], ("慢",)),
])
def test_accepted_reasons(reasons, expected):
    assert parse_event(encode(changed(RATING, score=1, reasons=reasons))).reasons == expected


@pytest.mark.parametrize("text", [
    "a", " ok ", "x" * 500, "满" * 500, "👍", "\n好\n",
], ids=["one-char", "padded", "500-ascii", "500-cjk", "emoji", "newlines-around"])
def test_accepted_feedback_text(text):
    payload = encode(changed(VALID["feedback"], text=text))
    assert parse_event(payload).text == text


def test_500_cjk_characters_are_more_than_500_bytes_and_still_accepted():
    text = "满" * 500
    assert len(text.encode("utf-8")) == 1500
    assert parse_event(encode(changed(VALID["feedback"], text=text))).text == text


def test_an_event_of_exactly_4096_bytes_is_accepted():
    assert parse_event(padded_to(4096)).id == RATING["id"]


# ------------------------------------------------------------------ rejected
# (case id, payload, regex the reason must match, which of stream/seq the error must still carry)
# carries: "both" = stream and seq of the message, "stream" = stream only (seq itself is bad),
#          "none" = neither, "any" = not asserted here.

def case(case_id, data, mention, carries="both", base=RATING):
    payload = data if isinstance(data, bytes) else encode(changed(base, **data))
    return pytest.param(payload, mention, carries, id=case_id)


FB = VALID["feedback"]
PR = VALID["presence-away"]

REJECTED = [
    # the message as a whole
    case("bad-json", b'{"v":1,"id":', r"\bJSON\b", "none"),
    case("empty", b"", r"\bJSON\b", "none"),
    case("not-utf8", json.dumps(changed(FB, text="café")).replace("\\u00e9", "\xe9").encode("latin-1"),
         r"UTF-8", "none"),
    case("utf16", encode(RATING).decode().encode("utf-16"), r"UTF-8", "none"),
    case("array", b"[1, 2]", r"\bobject\b", "none"),
    case("string", b'"rating"', r"\bobject\b", "none"),
    case("null", b"null", r"\bobject\b", "none"),
    case("number", b"1", r"\bobject\b", "none"),
    case("v-missing", {"v": MISSING}, r"\bversion\b", "any"),
    case("v-2", {"v": 2}, r"\bversion\b", "any"),
    case("v-0", {"v": 0}, r"\bversion\b", "any"),
    case("v-string", {"v": "1"}, r"\bversion\b", "any"),
    case("v-true", {"v": True}, r"\bversion\b", "any"),
    case("v-null", {"v": None}, r"\bversion\b", "any"),
    case("oversize-4097", padded_to(4097), r"\b4097 bytes\b", "both"),
    # stream: without it nothing can be acked
    case("stream-missing", {"stream": MISSING}, r"\bstream\b", "none"),
    case("stream-null", {"stream": None}, r"\bstream\b", "none"),
    case("stream-number", {"stream": 12345678}, r"\bstream\b", "none"),
    case("stream-7", {"stream": "s" * 7}, r"\bstream\b", "none"),
    case("stream-65", {"stream": "s" * 65}, r"\bstream\b", "none"),
    # seq
    case("seq-missing", {"seq": MISSING}, r"\bseq\b", "stream"),
    case("seq-null", {"seq": None}, r"\bseq\b", "stream"),
    case("seq-0", {"seq": 0}, r"\bseq\b", "stream"),
    case("seq-negative", {"seq": -5}, r"\bseq\b", "stream"),
    case("seq-float", {"seq": 1042.0}, r"\bseq\b", "stream"),
    case("seq-fraction", {"seq": 1.5}, r"\bseq\b", "stream"),
    case("seq-true", {"seq": True}, r"\bseq\b", "stream"),
    case("seq-string", {"seq": "1042"}, r"\bseq\b", "stream"),
    # id
    case("id-missing", {"id": MISSING}, r"\bid\b", "both"),
    case("id-null", {"id": None}, r"\bid\b", "both"),
    case("id-number", {"id": 1234567890}, r"\bid\b", "both"),
    case("id-7", {"id": "a" * 7}, r"\bid\b", "both"),
    case("id-65", {"id": "a" * 65}, r"\bid\b", "both"),
    case("id-empty", {"id": ""}, r"\bid\b", "both"),
    # ts
    case("ts-missing", {"ts": MISSING}, r"\bts\b", "both"),
    case("ts-number", {"ts": 1795396502481}, r"\bts\b", "both"),
    case("ts-no-offset", {"ts": "2026-11-23T09:15:02.481"}, r"\bts\b", "both"),
    case("ts-offset-without-colon", {"ts": "2026-11-23T09:15:02.481+0800"}, r"\bts\b", "both"),
    case("ts-offset-hours-only", {"ts": "2026-11-23T09:15:02.481+08"}, r"\bts\b", "both"),
    case("ts-date-only", {"ts": "2026-11-23"}, r"\bts\b", "both"),
    case("ts-space", {"ts": "2026-11-23 09:15:02.481+08:00"}, r"\bts\b", "both"),
    case("ts-month-13", {"ts": "2026-13-23T09:15:02.481+08:00"}, r"\bts\b", "both"),
    case("ts-trailing-newline", {"ts": "2026-11-23T09:15:02.481+08:00\n"}, r"\bts\b", "both"),
    # window
    case("window-missing", {"window": MISSING}, r"\bwindow\b", "both"),
    case("window-upper", {"window": "W03"}, r"\bwindow\b", "both"),
    case("window-leading-hyphen", {"window": "-w03"}, r"\bwindow\b", "both"),
    case("window-33", {"window": "w" * 33}, r"\bwindow\b", "both"),
    case("window-space", {"window": "w 03"}, r"\bwindow\b", "both"),
    case("window-underscore", {"window": "w_03"}, r"\bwindow\b", "both"),
    case("window-empty", {"window": ""}, r"\bwindow\b", "both"),
    case("window-number", {"window": 3}, r"\bwindow\b", "both"),
    case("window-trailing-newline", {"window": "w03\n"}, r"\bwindow\b", "both"),
    # staff
    case("staff-space", {"staff": "10 24"}, r"\bstaff\b", "both"),
    case("staff-empty", {"staff": ""}, r"\bstaff\b", "both"),
    case("staff-17", {"staff": "1" * 17}, r"\bstaff\b", "both"),
    case("staff-number", {"staff": 1024}, r"\bstaff\b", "both"),
    case("staff-chinese", {"staff": "王芳"}, r"\bstaff\b", "both"),
    case("staff-underscore", {"staff": "a_1"}, r"\bstaff\b", "both"),
    case("staff-trailing-newline", {"staff": "1024\n"}, r"\bstaff\b", "both"),
    # type
    case("type-missing", {"type": MISSING}, r"\btype\b", "both"),
    case("type-unknown", {"type": "vote"}, r"\btype\b", "both"),
    case("type-capitalised", {"type": "Rating"}, r"\btype\b", "both"),
    case("type-null", {"type": None}, r"\btype\b", "both"),
    # rating: score per scale
    case("score-0", {"score": 0}, r"\bscore\b", "both"),
    case("score-negative", {"score": -1}, r"\bscore\b", "both"),
    case("score-6-on-5", {"score": 6, "scale": 5}, r"\bscore\b", "both"),
    case("score-5-on-4", {"score": 5, "scale": 4}, r"\bscore\b", "both"),
    case("score-4-on-3", {"score": 4, "scale": 3}, r"\bscore\b", "both"),
    case("score-5-on-3", {"score": 5, "scale": 3}, r"\bscore\b", "both"),
    case("score-float", {"score": 5.0}, r"\bscore\b", "both"),
    case("score-string", {"score": "5"}, r"\bscore\b", "both"),
    case("score-true", {"score": True, "scale": 3}, r"\bscore\b", "both"),
    case("score-missing", {"score": MISSING}, r"\bscore\b", "both"),
    case("scale-2", {"scale": 2, "score": 1}, r"\bscale\b", "both"),
    case("scale-6", {"scale": 6, "score": 1}, r"\bscale\b", "both"),
    case("scale-10", {"scale": 10, "score": 1}, r"\bscale\b", "both"),
    case("scale-float", {"scale": 5.0}, r"\bscale\b", "both"),
    case("scale-string", {"scale": "5"}, r"\bscale\b", "both"),
    case("scale-missing", {"scale": MISSING}, r"\bscale\b", "both"),
    # rating: reasons
    case("reasons-string", {"reasons": "slow"}, r"\breasons?\b", "both"),
    case("reasons-object", {"reasons": {"slow": True}}, r"\breasons?\b", "both"),
    case("reasons-17", {"reasons": [f"r{i}" for i in range(17)]}, r"\breasons?\b", "both"),
    case("reason-empty", {"reasons": ["slow", ""]}, r"\breasons?\b", "both"),
    case("reason-33", {"reasons": ["x" * 33]}, r"\breasons?\b", "both"),
    case("reason-number", {"reasons": [3]}, r"\breasons?\b", "both"),
    case("reason-null", {"reasons": [None]}, r"\breasons?\b", "both"),
    case("reason-object", {"reasons": [{"code": "slow"}]}, r"\breasons?\b", "both"),
    # presence
    case("state-missing", {"state": MISSING}, r"\bstate\b", "both", base=PR),
    case("state-busy", {"state": "busy"}, r"\bstate\b", "both", base=PR),
    case("state-upper", {"state": "AWAY"}, r"\bstate\b", "both", base=PR),
    case("state-true", {"state": True}, r"\bstate\b", "both", base=PR),
    case("state-null", {"state": None}, r"\bstate\b", "both", base=PR),
    # feedback
    case("text-missing", {"text": MISSING}, r"\btext\b", "both", base=FB),
    case("text-null", {"text": None}, r"\btext\b", "both", base=FB),
    case("text-number", {"text": 5}, r"\btext\b", "both", base=FB),
    case("text-empty", {"text": ""}, r"\btext\b", "both", base=FB),
    case("text-spaces", {"text": "   "}, r"\btext\b", "both", base=FB),
    case("text-whitespace", {"text": "\n\t \r"}, r"\btext\b", "both", base=FB),
    case("text-ideographic-space", {"text": "\u3000\u3000"}, r"\btext\b", "both", base=FB),
    case("text-501", {"text": "x" * 501}, r"\btext\b", "both", base=FB),
    case("text-501-cjk", {"text": "满" * 501}, r"\btext\b", "both", base=FB),
    case("feedback-rating-short", {"rating": "r1"}, r"\brating\b", "both", base=FB),
    case("feedback-rating-number", {"rating": 1042}, r"\brating\b", "both", base=FB),
]


@pytest.mark.parametrize("payload,mention,carries", REJECTED)
def test_rejected_with_a_reason_that_names_the_field(payload, mention, carries):
    with pytest.raises(ContractError) as caught:
        parse_event(payload)
    error = caught.value
    assert error.reason == str(error)
    assert re.search(mention, error.reason, re.IGNORECASE), f"reason {error.reason!r} does not name the field"
    if carries == "both":
        assert (error.stream, error.seq) == (STREAM, SEQ), "a rejection must carry the readable stream and seq"
    elif carries == "stream":
        assert (error.stream, error.seq) == (STREAM, None)
    elif carries == "none":
        assert (error.stream, error.seq) == (None, None)


def test_a_rejection_carries_the_messages_own_stream_and_seq():
    error = pytest.raises(ContractError, parse_event, encode(changed(RATING, stream="other-stream-1", seq=7,
                                                                     score=9))).value
    assert (error.stream, error.seq) == ("other-stream-1", 7)


def test_an_oversize_event_still_names_its_stream_and_seq():
    """Contract: an event that is rejected but still names its stream and seq counts as handled for the ack.

    An oversize event is otherwise well formed; without stream and seq on the error
    the server cannot ack it, and the kiosk sends it again and again.
    """
    with pytest.raises(ContractError, match=r"\b4097 bytes\b") as caught:
        parse_event(padded_to(4097))
    assert (caught.value.stream, caught.value.seq) == (STREAM, SEQ)
    with pytest.raises(ContractError, match=r"\b65536 bytes\b") as caught:
        parse_event(padded_to(65536, changed(RATING, seq=9)))
    assert (caught.value.stream, caught.value.seq) == (STREAM, 9)


@pytest.mark.parametrize("payload", [
    padded_to(65537),
    padded_to(5000, changed(RATING, seq=0)),
    padded_to(5000, changed(RATING, seq=MISSING)),
    padded_to(5000, changed(RATING, stream="short")),
    b"[" + b"1," * 3000 + b"1]",
    b"\xff" * 5000,
], ids=["over-64KiB", "seq-0", "seq-missing", "stream-short", "array", "not-utf8"])
def test_an_oversize_message_without_a_readable_stream_and_seq_carries_neither(payload):
    with pytest.raises(ContractError, match=r"\bbytes\b") as caught:
        parse_event(payload)
    assert (caught.value.stream, caught.value.seq) == (None, None)


@pytest.mark.parametrize("field,base", [("text", FB), ("rating", FB), ("id", RATING), ("stream", RATING)],
                         ids=["text", "rating", "id", "stream"])
def test_an_unpaired_surrogate_escape_is_rejected(field, base):
    """`"\\ud800"` is valid JSON syntax but no UTF-8 text: the contract's events are UTF-8 JSON.

    Accepted, such a string cannot be written to SQLite, and the server's whole
    batch fails (a message that breaks the contract must never stop the server).
    """
    value = {"text": "ok \ud800", "rating": "01JDQ\ud800AAAAAA", "id": "01JDQ\udc00AAAAAA", "stream": "k7f3\ud800q9x2"}
    payload = json.dumps(changed(base, **{field: value[field]})).encode("ascii")  # escaped, so bytes are UTF-8
    assert b"\\ud" in payload
    with pytest.raises(ContractError):
        parse_event(payload)


def test_a_paired_surrogate_escape_is_a_real_character():
    payload = json.dumps(changed(FB, text="好评 \U0001F44D")).encode("ascii")
    assert b"\\ud83d\\udc4d" in payload
    assert parse_event(payload).text == "好评 👍"


# ------------------------------------------------------------------ ack, status, config

def test_ack_round_trip():
    ack = Ack(STREAM, 1042)
    assert json.loads(ack.to_json()) == {"v": 1, "stream": STREAM, "upto_seq": 1042}
    assert parse_ack(ack.to_json()) == ack
    assert parse_ack(b'{"v":1,"stream":"k7f3q9x2","upto_seq":0}') == Ack(STREAM, 0)


@pytest.mark.parametrize("data,mention", [
    ({"v": 1, "stream": STREAM, "upto_seq": -1}, r"upto_seq"),
    ({"v": 1, "stream": STREAM, "upto_seq": 3.0}, r"upto_seq"),
    ({"v": 1, "stream": STREAM, "upto_seq": True}, r"upto_seq"),
    ({"v": 1, "stream": STREAM}, r"upto_seq"),
    ({"v": 1, "stream": "short", "upto_seq": 3}, r"\bstream\b"),
    ({"v": 2, "stream": STREAM, "upto_seq": 3}, r"\bversion\b"),
])
def test_bad_ack_is_rejected(data, mention):
    with pytest.raises(ContractError, match=mention):
        parse_ack(encode(data))


def test_status_and_last_will():
    assert parse_status(b'{"v":1,"online":false}') == Status(online=False)
    status = Status(online=True, ts="2026-11-23T09:00:00.000+08:00", window="w03", presence="away", outbox=3,
                    version="0.1.0")
    assert parse_status(status.to_json()) == status


def test_status_ignores_mistyped_optional_fields():
    status = parse_status(encode({"v": 1, "online": True, "presence": "busy", "outbox": -1, "ts": 5}))
    assert status == Status(online=True)


@pytest.mark.parametrize("data", [{"v": 1}, {"v": 1, "online": "true"}, {"v": 1, "online": 1},
                                  {"online": True}])
def test_bad_status_is_rejected(data):
    with pytest.raises(ContractError, match=r"online|version"):
        parse_status(encode(data))


def test_config_round_trip_and_defaults():
    config = Config(title="3号窗口", staff={"id": "1024", "name": "王芳"}, scale=4,
                    labels={"1": "差", "2": "一般", "3": "好", "4": "很好"},
                    reasons=({"code": "slow", "label": "慢"},), language="en", away_text="稍候")
    assert parse_config(config.to_json()) == config
    default = parse_config(b'{"v":1}')
    assert (default.scale, set(default.labels)) == (5, {"1", "2", "3", "4", "5"})
    assert [r["code"] for r in default.reasons] == ["slow", "attitude", "skill", "unclear", "wait"]
    assert parse_config(b'{"v":1,"scale":3}').labels.keys() == {"1", "2", "3"}
    assert parse_config(b'{"v":1,"language":"fr"}').language == "zh"


@pytest.mark.parametrize("data,mention", [
    ({"scale": 6}, r"\bscale\b"),
    ({"scale": "5"}, r"\bscale\b"),
    ({"scale": 3, "labels": {"1": "a", "2": "b", "3": "c", "4": "d"}}, r"\blabels\b"),
    ({"scale": 3, "labels": {"1": "a", "2": "b"}}, r"\blabels\b"),
    ({"scale": 3, "labels": {"0": "a", "1": "b", "2": "c"}}, r"\blabels\b"),
    ({"scale": 3, "labels": {"1": "a", "2": "", "3": "c"}}, r"\blabels\b"),
    ({"scale": 3, "labels": {"1": "a", "2": 2, "3": "c"}}, r"\blabels\b"),
    ({"scale": 3, "labels": ["a", "b", "c"]}, r"\blabels\b"),
    ({"reasons": "slow"}, r"\breasons\b"),
    ({"reasons": [{"code": "slow"}]}, r"\breasons\b"),
    ({"reasons": [{"code": "", "label": "x"}]}, r"\breasons\b"),
    ({"reasons": [{"code": "x" * 33, "label": "x"}]}, r"\breasons\b"),
    ({"reasons": ["slow"]}, r"\breasons\b"),
    ({"staff": {"name": "王芳"}}, r"\bstaff\b"),
    ({"staff": {"id": "王芳", "name": "王芳"}}, r"\bstaff\b"),
    ({"staff": "1024"}, r"\bstaff\b"),
])
def test_bad_config_is_rejected(data, mention):
    with pytest.raises(ContractError, match=mention):
        parse_config(encode({"v": 1, **data}))


# ------------------------------------------------------------------ topics

@pytest.mark.parametrize("name,expected", [
    ("ceval/v1/k-w03/event", ("k-w03", "event")),
    ("ceval/v1/k-w03/status", ("k-w03", "status")),
    ("ceval/v1/k-w03/ack", ("k-w03", "ack")),
    ("ceval/v1/k-w03/config", ("k-w03", "config")),
    ("ceval/v1/0/event", ("0", "event")),
    ("ceval/v1/" + "a" * 32 + "/event", ("a" * 32, "event")),
])
def test_parse_topic_accepts_contract_topics(name, expected):
    assert parse_topic(name) == expected


@pytest.mark.parametrize("name", [
    "ceval/v2/k-w03/event", "ceval/v0/k-w03/event", "Ceval/v1/k-w03/event", "eval/v1/k-w03/event",
    "other/v1/k-w03/event", "/ceval/v1/k-w03/event", "x/ceval/v1/k-w03/event",
    "ceval/v1/k-w03/event/extra", "ceval/v1/k-w03/event/", "ceval/v1/k-w03", "ceval/v1", "",
    "ceval/v1/K-W03/event", "ceval/v1/-k/event", "ceval/v1//event", "ceval/v1/k_w03/event",
    "ceval/v1/k w03/event", "ceval/v1/" + "a" * 33 + "/event", "ceval/v1/+/event", "ceval/v1/#",
    "ceval/v1/k-w03/events", "ceval/v1/k-w03/Event", "ceval/v1/k-w03/", "ceval/v1/k-w03/event\n",
    "ceval/v1/k-w03\n/event",
])
def test_parse_topic_rejects_other_topics(name):
    with pytest.raises(TopicError):
        parse_topic(name)


def test_topic_error_names_the_device_when_only_the_kind_is_wrong():
    assert pytest.raises(TopicError, parse_topic, "ceval/v1/k-w03/events").value.device == "k-w03"
    assert pytest.raises(TopicError, parse_topic, "ceval/v1/K-W03/event").value.device is None
    assert pytest.raises(TopicError, parse_topic, "ceval/v2/k-w03/event").value.device is None


def test_topic_builds_what_parse_topic_reads():
    for kind in ("event", "status", "ack", "config"):
        assert topic("k-w03", kind) == f"ceval/v1/k-w03/{kind}"
        assert parse_topic(topic("k-w03", kind)) == ("k-w03", kind)
    assert subscription("event") == "ceval/v1/+/event"


@pytest.mark.parametrize("device,kind", [("K-W03", "event"), ("", "event"), ("k/w03", "event"),
                                         ("k-w03\n", "event"), ("k-w03", "events"), ("k-w03", "")])
def test_topic_refuses_what_is_outside_the_contract(device, kind):
    with pytest.raises(TopicError):
        topic(device, kind)


# ------------------------------------------------------------------ scoring, from the contract's wording

# "5-scale: 4 and 5; 4-scale: 3 and 4; 3-scale: 3"
SATISFIED = {5: {4, 5}, 4: {3, 4}, 3: {3}}
# a bad review: "the bottom two of five levels, the bottom one of three or four"
LOW = {5: {1, 2}, 4: {1}, 3: {1}}
# "(score - 1) / (scale - 1) x 100"
INDEX = {5: [0, 25, 50, 75, 100], 4: [0, 100 / 3, 200 / 3, 100], 3: [0, 50, 100]}


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_satisfied_low_and_index_per_scale(scale):
    for score in range(1, scale + 1):
        assert is_satisfied(score, scale) == (score in SATISFIED[scale]), (score, scale)
        assert is_bad(score, scale) == (score in LOW[scale]), (score, scale)
        assert index_points(score, scale) == pytest.approx(INDEX[scale][score - 1]), (score, scale)


def test_satisfied_and_low_never_overlap_and_the_middle_is_neither():
    assert not is_satisfied(3, 5) and not is_bad(3, 5)
    assert not is_satisfied(2, 4) and not is_bad(2, 4)
    assert not is_satisfied(2, 3) and not is_bad(2, 3)


# ------------------------------------------------------------------ broker URLs

@pytest.mark.parametrize("url,expected", [
    ("mqtt://localhost:1883", BrokerAddress("localhost", 1883, False)),
    ("mqtt://10.0.0.5:11883", BrokerAddress("10.0.0.5", 11883, False)),
    ("mqtt://broker.hall.local", BrokerAddress("broker.hall.local", 1883, False)),
    ("mqtts://broker.hall.local", BrokerAddress("broker.hall.local", 8883, True)),
    ("mqtts://broker:8884", BrokerAddress("broker", 8884, True)),
    ("mqtt://[::1]:1883", BrokerAddress("::1", 1883, False)),
])
def test_parse_broker_url(url, expected):
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize("url", ["mqtt://localhost:1883", "mqtts://broker:8883", "mqtt://10.0.0.5:11883"])
def test_broker_address_prints_as_it_was_written(url):
    assert str(parse_broker_url(url)) == url


@pytest.mark.parametrize("url", [
    "http://localhost:1883", "tcp://localhost:1883", "localhost:1883", "localhost", "", "mqtt://",
    "mqtt://:1883", "mqtt://localhost:99999", "mqtt://localhost:abc", "mqtt://localhost:0",
])
def test_bad_broker_url_is_refused(url):
    with pytest.raises(ValueError, match="broker URL"):
        parse_broker_url(url)


# ------------------------------------------------------------------ time stamps

CST = timezone(timedelta(hours=8))


def test_format_ts_writes_milliseconds_and_offset():
    moment = datetime(2026, 11, 23, 9, 15, 2, 481999, tzinfo=CST)
    assert format_ts(moment) == "2026-11-23T09:15:02.481+08:00"
    assert format_ts(datetime(2026, 11, 23, 1, 15, 2, tzinfo=UTC)) == "2026-11-23T01:15:02.000+00:00"


def test_format_parse_round_trip_keeps_milliseconds():
    for ms in (0, 1, 481, 999):
        moment = datetime(2026, 11, 23, 9, 15, 2, ms * 1000, tzinfo=CST)
        text = format_ts(moment)
        assert text.endswith(f".{ms:03d}+08:00")
        assert parse_ts(text) == moment
        assert parse_ts(text).utcoffset() == timedelta(hours=8)


def test_parse_ts_reads_z_as_utc():
    assert parse_ts("2026-11-23T01:15:02.481Z") == datetime(2026, 11, 23, 1, 15, 2, 481000, tzinfo=UTC)


def test_format_ts_refuses_a_naive_datetime():
    with pytest.raises(ValueError):
        format_ts(datetime(2026, 11, 23, 9, 15, 2))


@pytest.mark.parametrize("text", [None, 1795396502481, "2026-11-23T09:15:02.481", "yesterday",
                                  "2026-11-23T09:15:02,481+08:00"])
def test_parse_ts_refuses_what_is_not_rfc3339_with_offset(text):
    with pytest.raises(ValueError):
        parse_ts(text)


@pytest.mark.parametrize("ms", [
    0, 1_704_067_200_000, 1_795_396_502_481, 1_795_396_502_999,
    2_156_555_695_569,  # 2038-05-04T03:14:55.569Z
])
def test_epoch_milliseconds_are_exact(ms):
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    assert to_ms(moment) == ms
    assert from_ms(ms) == moment
    assert to_ms(parse_ts(format_ts(from_ms(ms, CST)))) == ms
