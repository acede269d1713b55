"""docs/protocol.md runs: every example on it is parsed by the code in `shared/`, and the patterns, topics, limits
and values it states are the code's. Only the repository's own files are read.

The page is the project's copy of the wire contract. Its examples are marked
`<!-- example: KIND -->` before a ```json block; this module finds them all and
checks each with the parser of its kind, so the page and the code cannot drift.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from shared import contract
from shared.contract import ContractError, parse_ack, parse_config, parse_event, parse_status
from shared.timefmt import parse_ts
from shared.topics import DEVICE_PATTERN, topic

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"

KINDS = ("event", "ack", "status", "config", "summary")
DETAILS_HEADING = "## Details this implementation fixes"
MARKER = re.compile(r"^<!-- example: (\w+) -->$")
# Inline code spans that show the shape of a message rather than a message.
TEMPLATES = {'{"v":1,"stream":S,"upto_seq":N}'}


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def examples(text: str | None = None) -> list[tuple[str | None, int, str]]:
    """(kind, line number, JSON text) of every ```json block; kind is None where the marker is missing."""
    lines = (doc_text() if text is None else text).splitlines()
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```json":
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = MARKER.match(before)
            found.append((marker.group(1) if marker else None, start + 1, "\n".join(lines[start:end])))
            i = end
        i += 1
    return found


def of_kind(kind: str) -> list[tuple[int, str]]:
    return [(line, body) for k, line, body in examples() if k == kind]


def ids(kind: str) -> list[str]:
    return [f"line{line}" for line, _ in of_kind(kind)]


def as_bytes(body: str) -> bytes:
    return body.encode("utf-8")


# ------------------------------------------------------------------ the page's shape

def test_every_json_block_is_a_marked_example():
    unmarked = [line for kind, line, _ in examples() if kind is None]
    assert not unmarked, f"json blocks without an <!-- example: KIND --> marker start on lines {unmarked}"


def test_every_marker_is_followed_by_a_json_block_and_names_a_known_kind():
    lines = doc_text().splitlines()
    markers = [(n, m.group(1)) for n, line in enumerate(lines) if (m := MARKER.match(line.strip()))]
    assert markers
    for n, kind in markers:
        assert kind in KINDS, f"line {n + 1}: unknown example kind {kind!r}"
        following = next(line.strip() for line in lines[n + 1:] if line.strip())
        assert following == "```json", f"line {n + 1}: marker not followed by a ```json block"
    assert len(markers) == len(examples())


def test_the_page_has_every_kind_of_example():
    kinds = [kind for kind, _, _ in examples()]
    for kind in KINDS:
        assert kind in kinds, f"docs/protocol.md has no <!-- example: {kind} -->"
    types = {json.loads(body)["type"] for _, body in of_kind("event")}
    assert types == set(contract.EVENT_TYPES)


def test_every_example_is_valid_json():
    for kind, line, body in examples():
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            pytest.fail(f"docs/protocol.md line {line} ({kind}): not JSON: {exc}")


def test_the_page_keeps_the_details_section():
    text = doc_text()
    assert DETAILS_HEADING in text
    details = text.split(DETAILS_HEADING, 1)[1]
    for needle in ("labels", "reasons", "--gap-timeout", "whitespace", "belongs to the device that first used it",
                   "already used by a different `id`"):
        assert needle in details, f"the details section no longer mentions {needle!r}"


# ------------------------------------------------------------------ marked examples

@pytest.mark.parametrize("line,body", of_kind("event"), ids=ids("event"))
def test_event_example_parses_and_round_trips(line, body):
    event = parse_event(as_bytes(body))
    assert parse_event(event.to_json()) == event
    # Every field the example writes is one the contract defines, so nothing is lost in the round trip.
    assert json.loads(event.to_json()) == json.loads(body), f"line {line}: the example has fields the code drops"


def test_event_examples_are_a_consistent_story():
    events = [parse_event(as_bytes(body)) for _, body in of_kind("event")]
    event_ids = [e.id for e in events]
    assert len(set(event_ids)) == len(event_ids), "an id is unique per event, forever"
    places = [(e.stream, e.seq) for e in events]
    assert len(set(places)) == len(places), "two examples share a (stream, seq)"
    ratings = {e.id for e in events if e.type == "rating"}
    for e in events:
        if e.type == "feedback" and e.rating is not None:
            assert e.rating in ratings, f"feedback {e.id} belongs to a rating that is not on the page"


@pytest.mark.parametrize("line,body", of_kind("ack"), ids=ids("ack"))
def test_ack_example_parses(line, body):
    ack = parse_ack(as_bytes(body))
    data = json.loads(body)
    assert (ack.stream, ack.upto_seq) == (data["stream"], data["upto_seq"])
    assert parse_ack(ack.to_json()) == ack


@pytest.mark.parametrize("line,body", of_kind("status"), ids=ids("status"))
def test_status_example_parses_without_losing_a_field(line, body):
    status = parse_status(as_bytes(body))
    data = json.loads(body)
    # parse_status ignores mistyped optional fields; an example must have none.
    assert json.loads(status.to_json()) == data, f"line {line}: parse_status dropped a field of the example"


def test_status_examples_include_the_last_will():
    assert any(json.loads(body) == {"v": 1, "online": False} for _, body in of_kind("status"))


@pytest.mark.parametrize("line,body", of_kind("config"), ids=ids("config"))
def test_config_example_parses_without_losing_a_field(line, body):
    config = parse_config(as_bytes(body))
    data = json.loads(body)
    assert set(data["labels"]) == {str(s) for s in range(1, data["scale"] + 1)}
    assert parse_config(config.to_json()) == config
    # Nothing in the example was replaced by a default or a fallback.
    assert json.loads(config.to_json()) == data, f"line {line}: parse_config changed a field of the example"


@pytest.mark.parametrize("line,body", of_kind("summary"), ids=ids("summary"))
def test_summary_example_agrees_with_the_report_formulas(line, body):
    from server.domain.figures import rating_summary

    data = json.loads(body)
    assert set(data) == {"window", "from", "to", "ratings", "absences", "feedback"}
    assert contract.WINDOW_PATTERN.match(data["window"])
    assert date.fromisoformat(data["from"]) <= date.fromisoformat(data["to"])
    ratings = data["ratings"]
    assert set(ratings) == {"total", "by_score", "satisfied_rate", "index"}
    assert set(data["absences"]) == {"count", "total_seconds", "longest_seconds"}
    assert data["absences"]["longest_seconds"] <= data["absences"]["total_seconds"]
    assert set(data["feedback"]) == {"count"}
    assert ratings["total"] == sum(ratings["by_score"].values())
    computed = rating_summary([(5, int(score), n) for score, n in ratings["by_score"].items()])
    assert ratings["satisfied_rate"] == computed["satisfied_rate"], f"line {line}: satisfied_rate"
    assert ratings["index"] == computed["index"], f"line {line}: index"
    assert ratings == computed


# ------------------------------------------------------------------ examples written inline

def inline_example_event(text: str) -> str:
    lines = text.splitlines()
    at = lines.index("Example:")
    span = lines[at + 1].strip()
    assert span.startswith("`{") and span.endswith("}`")
    return span[1:-1]


def test_the_contracts_inline_example_event_parses():
    event = parse_event(as_bytes(inline_example_event(doc_text())))
    assert (event.stream, event.seq, event.window, event.staff) == ("k7f3q9x2", 1042, "w03", "1024")
    assert (event.type, event.score, event.scale) == ("rating", 5, 5)
    assert event.ts == "2026-11-23T09:15:02.481+08:00"


def section(heading: str) -> str:
    """The page's text under `heading` (a whole heading line), down to the next heading of its level or above."""
    level = heading.split(" ", 1)[0]
    body = doc_text().split(f"\n{heading}\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]


def unanchored(pattern: re.Pattern) -> str:
    """A pattern of the code as the page writes it: without its anchors."""
    return pattern.pattern.removeprefix("^").removesuffix(r"\Z")


def test_the_names_have_the_codes_patterns():
    names = section("## Names")
    assert re.search(r"- `device`: [^\n]*Pattern `([^`]+)`", names)[1] == unanchored(DEVICE_PATTERN)
    assert "- `window`: one service counter, same pattern" in names and contract.WINDOW_PATTERN is DEVICE_PATTERN
    assert re.search(r"- `staff`: [^`]*`([^`]+)`", names)[1] == unanchored(contract.STAFF_PATTERN)


def test_the_topics_are_the_codes():
    rows = re.findall(r"^\| `(ceval/v1/\{device\}/(\w+))` \|", section("## Topics (all QoS 1)"), re.M)
    assert [kind for _, kind in rows] == ["event", "status", "ack", "config"]
    for name, kind in rows:
        assert topic("k7f3q9x2", kind) == name.replace("{device}", "k7f3q9x2")


def test_the_events_section_has_the_codes_limits_and_values():
    events = section("## Events")
    assert f"at most {contract.MAX_EVENT_BYTES // 1024} KiB" in events and contract.MAX_EVENT_BYTES % 1024 == 0
    types = re.search(r"^\| `type` \| ([^|]+) \|", events, re.M)[1]
    assert tuple(re.findall(r"`(\w+)`", types)) == contract.EVENT_TYPES
    scales = ", ".join(map(str, contract.SCALES[:-1])) + f" or {contract.SCALES[-1]}"
    assert f"(integer 1..`scale`, higher is more satisfied), `scale`\n  ({scales})" in events
    assert f"`text` (1..{contract.MAX_TEXT_CHARS} characters)" in events
    assert tuple(re.findall(r"`(\w+)` when", events)) == contract.PRESENCE_STATES


def test_every_inline_message_on_the_page_is_valid():
    spans = re.findall(r"`(\{\"v\".*?\})`", doc_text())
    checked = 0
    for span in spans:
        if span in TEMPLATES:
            continue
        data = json.loads(span)
        if "type" in data:
            parse_event(as_bytes(span))
        elif "online" in data:
            assert json.loads(parse_status(as_bytes(span)).to_json()) == data
        else:
            pytest.fail(f"an inline message of unknown kind: {span}")
        checked += 1
    assert checked >= 3  # the example event, the status line and the Last Will


# ------------------------------------------------------------------ the details section against the code

def limits_table() -> dict[str, tuple[int, str]]:
    section = doc_text().split("### Limits", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (m := re.match(r"(\d+) ", cells[1])) and cells[2].startswith("`"):
            rows[cells[2].strip("`")] = (int(m.group(1)), cells[0])
    return rows


def test_documented_limits_are_the_codes_limits():
    rows = limits_table()
    names = [where for where in rows if where.startswith("shared.contract.")]
    assert len(names) == 5
    for where in names:
        value, what = rows[where]
        assert getattr(contract, where.rsplit(".", 1)[1]) == value, f"the documented {what} is not the code's"


def test_documented_gap_timeout_is_the_command_lines_default():
    """The collector's own default is the command line's: tests/server/test_ingest.py."""
    from ceval.main import build_parser

    value, _ = limits_table()["ceval server --gap-timeout"]
    args = build_parser().parse_args(["server", "--db", "x.db", "--broker", "mqtt://localhost:1883"])
    assert args.gap_timeout == value


def documented_ts_pattern() -> re.Pattern:
    details = doc_text().split(DETAILS_HEADING, 1)[1]
    match = re.search(r"`ts` must match, as a whole string,\s*`([^`]+)`", details)
    assert match, "the details section no longer states the ts pattern"
    return re.compile(match.group(1))


def accepts_ts(text: str) -> bool:
    try:
        parse_ts(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("ts", [
    "2026-11-23T09:15:02.481+08:00", "2026-11-23T09:15:02+08:00", "2026-11-23T01:15:02.481Z",
    "2026-11-23T09:15:02.4-03:30", "2026-11-23T09:15:02.123456+00:00", "2026-11-23T09:15:02.1234567+08:00",
    "2026-11-23T09:15:02.481", "2026-11-23 09:15:02.481+08:00", "2026-11-23t09:15:02.481z",
    "2026-11-23T09:15:02.481+0800", "2026-11-23T09:15:02.481+08", "2026-11-23T09:15:02.+08:00",
    "2026-11-23", " 2026-11-23T09:15:02.481+08:00", "2026-11-23T09:15:02.481+08:00\n",
])
def test_documented_ts_pattern_is_what_the_parser_accepts(ts):
    assert bool(documented_ts_pattern().fullmatch(ts)) == accepts_ts(ts)


@pytest.mark.parametrize("ts", ["2026-13-01T09:15:02.481+08:00", "2026-02-30T09:15:02.481+08:00",
                                "2026-11-23T24:00:00.000+08:00", "2026-12-31T23:59:60Z"])
def test_ts_that_fits_the_pattern_but_is_no_real_time_is_rejected(ts):
    assert documented_ts_pattern().fullmatch(ts)
    assert not accepts_ts(ts)
    with pytest.raises(ContractError, match=r"\bts\b"):
        parse_event(json.dumps({"v": 1, "id": "01JDQ6Y1ZC6J1W9M0X9QK3T1AB", "stream": "k7f3q9x2", "seq": 1,
                                "ts": ts, "window": "w03", "type": "staff"}).encode())


# ------------------------------------------------------------------ the examples this copy completed

def test_the_status_examples_the_copy_completed_have_real_values():
    """"Changes from the shared text": the status line's `ts` and `version` are real values (the summary's index,
    the other change, is computed by test_summary_example_agrees_with_the_report_formulas)."""
    inline = re.findall(r"`(\{\"v\":1,\"online\".*?\})`", doc_text())
    statuses = [json.loads(body) for body in inline] + [json.loads(body) for _, body in of_kind("status")]
    completed = [status for status in statuses if "ts" in status or "version" in status]
    assert len(completed) >= 2
    for status in completed:
        assert accepts_ts(status["ts"]), status
        assert re.fullmatch(r"\d+\.\d+\.\d+", status["version"]), status
