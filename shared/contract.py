"""Contract v1 as types, with strict validation that names what is wrong.

`parse_event(payload)` turns the bytes of an MQTT message into an `Event` or
raises `ContractError` with a reason a person can read. Unknown fields are
ignored, as the contract says.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .pins import is_pin_hash
from .quote import quoted
from .signing import KEY_PATTERN, PREV_PATTERN, SIG_PATTERN
from .timefmt import parse_ts
from .topics import DEVICE_PATTERN

VERSION = 1
MAX_EVENT_BYTES = 4096
MAX_TEXT_CHARS = 500
EVENT_TYPES = ("rating", "presence", "feedback", "staff")
PRESENCE_STATES = ("away", "present")
SENSOR_STATES = ("ok", "flapping", "unplugged")
STORAGE_STATES = ("full", "error")
SCALES = (3, 4, 5)
MAX_REASONS = 16
MAX_REASON_CHARS = 32
MAX_SEQ = 2**53 - 1  # the largest integer every JSON implementation keeps exactly
MAX_DEPTH = 16  # arrays and objects nested in one message; the contract's own messages need 3

WINDOW_PATTERN = DEVICE_PATTERN
STAFF_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,16}\Z")
# Extension: a case number (GB/T 39046 办件编号, an..50) bound to a rating. ASCII letters and digits first,
# then also `-`, `_`, `/` and `.`; 1 to 50 characters; nothing else (no spaces, no control characters).
CASE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,49}\Z")
MAX_CASE_CHARS = 50
MAX_INVITE_TTL = 3600  # seconds: the longest an invite may wait on a busy kiosk


class ContractError(ValueError):
    """A message that breaks the contract.

    `stream` and `seq` are set when the message still named them validly, so
    the server can count the rejected event as handled for the ack.
    """

    def __init__(self, reason: str, stream: str | None = None, seq: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.stream = stream
        self.seq = seq


@dataclass  # not frozen: a frozen one takes 1.5 µs more to make, a seventh of checking an event in the store process
class Event:
    id: str
    stream: str
    seq: int
    ts: str
    window: str
    type: str
    staff: str | None = None
    # rating
    score: int | None = None
    scale: int | None = None
    reasons: tuple[str, ...] = ()
    case: str | None = None  # extension: the case number (办件编号) the rating was invited for
    # presence
    state: str | None = None
    # feedback
    text: str | None = None
    rating: str | None = None
    # extension: the chain and the kiosk's signature (shared/signing.py)
    prev: str | None = None
    sig: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": VERSION, "id": self.id, "stream": self.stream, "seq": self.seq,
            "ts": self.ts, "window": self.window, "type": self.type,
        }
        if self.staff is not None:
            out["staff"] = self.staff
        if self.type == "rating":
            out["score"] = self.score
            out["scale"] = self.scale
            if self.reasons:
                out["reasons"] = list(self.reasons)
            if self.case is not None:
                out["case"] = self.case
        elif self.type == "presence":
            out["state"] = self.state
        elif self.type == "feedback":
            out["text"] = self.text
            if self.rating is not None:
                out["rating"] = self.rating
        if self.prev is not None:
            out["prev"] = self.prev
        if self.sig is not None:
            out["sig"] = self.sig
        return out

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Ack:
    stream: str
    upto_seq: int

    def to_json(self) -> bytes:
        return json.dumps({"v": VERSION, "stream": self.stream, "upto_seq": self.upto_seq}).encode()


@dataclass(frozen=True)
class Invite:
    """Extension, server -> kiosk: invite the customer at this kiosk to rate, for a case number.

    `id` is the server's number for the invite (a kiosk acts on each id once), `ts` the server's clock
    when it sent it, `ttl` how many seconds after arrival it may still open the rating buttons.
    """
    id: int
    case: str
    ts: str
    ttl: int

    def to_json(self) -> bytes:
        return json.dumps({"v": VERSION, "id": self.id, "case": self.case, "ts": self.ts, "ttl": self.ttl}).encode()


@dataclass(frozen=True)
class Status:
    online: bool
    ts: str | None = None
    window: str | None = None
    presence: str | None = None
    outbox: int | None = None
    version: str | None = None
    sensor: str | None = None  # extension: the away-sign sensor, "ok" | "flapping" | "unplugged"
    storage: str | None = None  # extension: "full" | "error" while the kiosk's outbox cannot store events
    ignored_acks: dict | None = None  # extension: {"count", "upto_seq", "ts"} of acks beyond the last seq
    key: str | None = None  # extension: the kiosk's Ed25519 public key, base64 (shared/signing.py)

    def to_json(self) -> bytes:
        data = {"v": VERSION, **{k: v for k, v in asdict(self).items() if v is not None}}
        return json.dumps(data).encode()


OFFLINE_STATUS = Status(online=False)

DEFAULT_LABELS = {
    5: {"5": "非常满意", "4": "满意", "3": "基本满意", "2": "不满意", "1": "非常不满意"},
    4: {"4": "非常满意", "3": "满意", "2": "不满意", "1": "非常不满意"},
    3: {"3": "满意", "2": "基本满意", "1": "不满意"},
}
DEFAULT_REASONS = (
    {"code": "slow", "label": "办理时间长"},
    {"code": "attitude", "label": "态度不好"},
    {"code": "skill", "label": "业务不熟练"},
    {"code": "unclear", "label": "一次性告知不清"},
    {"code": "wait", "label": "等候时间长"},
)

DEFAULT_PHRASES = ("办事效率高", "服务态度好", "讲解很清楚", "等候时间长", "希望简化材料")
MAX_PHRASES = 12
# Extension: the English of custom texts, shown when the kiosk speaks English (see docs/protocol.md, Config)
MAX_EN_TITLE = 64
MAX_EN_LABEL = 40     # a score's or a reason's English
MAX_EN_PHRASE = 80
MAX_EN_AWAY = 120


@dataclass(frozen=True)
class Config:
    """What a kiosk shows and how it behaves; the server publishes it retained."""

    title: str = ""
    staff: dict[str, str] | None = None  # {"id": ..., "name": ...}
    scale: int = 5
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS[5]))
    reasons: tuple[dict[str, str], ...] = DEFAULT_REASONS
    language: str = "zh"
    away_text: str = "暂停服务，请稍候"
    # extensions of v1 (optional; older kiosks ignore them)
    phrases: tuple[str, ...] = DEFAULT_PHRASES      # quick comments offered after a rating
    comment_url: str | None = None                  # the phone comment form for this window (QR code)
    roster: tuple[dict[str, str], ...] = ()         # clerks who may sign in here: {id, name, pin (hash)}
    # English of custom texts ("" or absent: the Chinese one, or the built-in English of a built-in text);
    # a reason's English is its optional "label_en"
    title_en: str = ""
    labels_en: dict[str, str] = field(default_factory=dict)  # by score, some or all of `labels`
    phrases_en: tuple[str, ...] = ()                # entry i is the English of phrases[i]
    away_text_en: str = ""
    # whether the thank-you shows the score the customer chose: off by default, so nobody at the counter learns
    # a customer's answer from the screen (domain.md, "Whether the figures can be believed")
    thanks_show_score: bool = False

    def to_json(self) -> bytes:
        data = {"v": VERSION, **asdict(self)}
        data["reasons"] = list(self.reasons)
        data["phrases"] = list(self.phrases)
        data["roster"] = list(self.roster)
        data["phrases_en"] = list(self.phrases_en)
        for name in OPTIONAL_FIELDS:  # absent when unused: such a config is byte for byte what it was before them
            if not data[name]:
                del data[name]
        return json.dumps(data, ensure_ascii=False).encode()


EN_FIELDS = ("title_en", "labels_en", "phrases_en", "away_text_en")
OPTIONAL_FIELDS = (*EN_FIELDS, "thanks_show_score")


def default_title(window: str) -> str:
    """The title a window has until a manager names it: `w03` -> 3号窗口."""
    digits = window[1:]
    return f"{int(digits)}号窗口" if window.startswith("w") and digits.isdigit() else window


# ---------------------------------------------------------------- validation

def _load_object(payload: bytes, limit: int = MAX_EVENT_BYTES) -> dict[str, Any]:
    data = _load_json(payload, limit)
    _check_version(data)
    return data


def _check_version(data: dict[str, Any]) -> None:
    if not (_is_int(data.get("v")) and data["v"] == VERSION):
        raise ContractError(f"unsupported contract version {quoted(data.get('v'))}, expected {VERSION}")


def _load_json(payload: bytes, limit: int) -> dict[str, Any]:
    """The JSON object of a message, or ContractError: whatever the bytes are, nothing else escapes.

    Checked cheapest first: the size, UTF-8, how deeply it nests (before json.loads, whose recursion a
    message of a few KiB of `[` could exhaust), then the JSON itself (no NaN or Infinity: they are not JSON),
    an object, no unpaired surrogate escape.
    """
    if not isinstance(payload, (bytes, bytearray)):
        raise ContractError("message is not bytes")
    if len(payload) > limit:
        raise ContractError(f"message is {len(payload)} bytes, more than {limit}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractError("message is not UTF-8") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting(text) > MAX_DEPTH:
        raise ContractError(f"message nests arrays and objects more than {MAX_DEPTH} levels deep")
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"message is not JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError) as exc:  # a number too long to convert, NaN, Infinity
        raise ContractError(f"message is not JSON: {quoted(str(exc), 80)}") from None
    if not isinstance(data, dict):
        raise ContractError("message is not a JSON object")
    if "\\u" in text:  # only a \uD8xx..\uDFxx escape can carry an unpaired surrogate
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ContractError("message is not UTF-8 text: it has an unpaired surrogate escape") from None
    return data


def _nesting(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count); it stops counting
    past MAX_DEPTH. One pass over the brackets and quotes only; `_load_json` skips it for a message with
    no more than MAX_DEPTH opening brackets in all, which cannot nest deeper."""
    depth = deepest = 0
    in_string = False
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if in_string:
            if token == '"':
                in_string = False
        elif token == '"':
            in_string = True
        elif token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)  # an escape (skipped whole), a quote or a bracket


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # one for every message: json.loads would make one each


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_field(data: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ContractError(f"{name} is missing or not a string")
    if not 8 <= len(value) <= 64:
        raise ContractError(f"{name} must be 8 to 64 characters, got {len(value)}")
    return value


def _pattern_field(data: dict[str, Any], name: str, pattern: re.Pattern, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise ContractError(f"{name} {quoted(value)} does not match {pattern.pattern}")
    return value


def parse_event(payload: bytes) -> Event:
    """Validate one event message; raise ContractError with the reason."""
    if len(payload) > MAX_EVENT_BYTES:
        stream, seq = _stream_and_seq_of_oversize(payload)
        raise ContractError(f"message is {len(payload)} bytes, more than {MAX_EVENT_BYTES}", stream, seq)
    data = _load_json(payload, MAX_EVENT_BYTES)
    stream = seq = None
    try:
        stream = _id_field(data, "stream")
        seq = data.get("seq")
        if not _is_int(seq) or not 1 <= seq <= MAX_SEQ:
            seq = None
            raise ContractError(f"seq must be an integer from 1 to {MAX_SEQ}")
        _check_version(data)
        return _event_fields(data, stream, seq)
    except ContractError as exc:
        raise ContractError(exc.reason, stream, seq) from None


def _stream_and_seq_of_oversize(payload: bytes) -> tuple[str | None, int | None]:
    """An oversize event is still rejected, but where it names its stream and seq
    the server can count it as handled, so it does not block the kiosk's stream."""
    if len(payload) > 16 * MAX_EVENT_BYTES:
        return None, None
    try:
        data = _load_json(payload, 16 * MAX_EVENT_BYTES)
        stream = _id_field(data, "stream")
    except ContractError:
        return None, None
    seq = data.get("seq")
    return (stream, seq) if _is_int(seq) and 1 <= seq <= MAX_SEQ else (None, None)


def _event_fields(data: dict[str, Any], stream: str, seq: int) -> Event:
    event_id = _id_field(data, "id")
    ts = data.get("ts")
    try:
        parse_ts(ts)
    except ValueError:
        raise ContractError(f"ts {quoted(ts)} is not an RFC 3339 timestamp with offset") from None
    window = _pattern_field(data, "window", WINDOW_PATTERN, required=True)
    staff = _pattern_field(data, "staff", STAFF_PATTERN, required=False)
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        raise ContractError(f"unknown event type {quoted(kind)}")
    prev, sig = _chain_fields(data)
    score = scale = case = state = text = rating = None
    reasons: tuple[str, ...] = ()
    if kind == "rating":
        score, scale, reasons, case = _rating_fields(data)
    elif kind == "presence":
        state = data.get("state")
        if state not in PRESENCE_STATES:
            raise ContractError(f"presence state {quoted(state)} is not 'away' or 'present'")
    elif kind == "feedback":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ContractError("feedback text is missing or empty")
        if len(text) > MAX_TEXT_CHARS:
            raise ContractError(f"feedback text is {len(text)} characters, more than {MAX_TEXT_CHARS}")
        rating = _id_field(data, "rating", required=False)
    # a staff change has no fields of its own: `staff` is the new clerk, absent for nobody
    return Event(id=event_id, stream=stream, seq=seq, ts=ts, window=window, type=kind, staff=staff, score=score,
                 scale=scale, reasons=reasons, case=case, state=state, text=text, rating=rating, prev=prev, sig=sig)


def _chain_fields(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(prev, sig) of a chained and signed event; (None, None) for one outside a chain."""
    prev, sig = data.get("prev"), data.get("sig")
    if prev is not None and not (isinstance(prev, str) and PREV_PATTERN.match(prev)):
        raise ContractError(f"prev {quoted(prev)} is not 64 lowercase hexadecimal digits")
    if sig is not None:
        if not (isinstance(sig, str) and SIG_PATTERN.match(sig)):
            raise ContractError(f"sig {quoted(sig)} is not the base64 of a 64-byte Ed25519 signature")
        if prev is None:
            raise ContractError("sig without prev: a signed event names the event before it")
    return prev, sig


def _rating_fields(data: dict[str, Any]) -> tuple[int, int, tuple[str, ...], str | None]:
    """(score, scale, reasons, case) of a rating."""
    score, scale = data.get("score"), data.get("scale")
    if not _is_int(scale) or scale not in SCALES:
        raise ContractError(f"scale {quoted(scale)} is not 3, 4 or 5")
    if not _is_int(score) or not 1 <= score <= scale:
        raise ContractError(f"score {quoted(score)} is not an integer from 1 to {scale}")
    reasons = data.get("reasons", [])
    if reasons is None:
        reasons = []
    if not isinstance(reasons, list) or len(reasons) > MAX_REASONS:
        raise ContractError(f"reasons must be a list of at most {MAX_REASONS} codes")
    for code in reasons:
        if not isinstance(code, str) or not 1 <= len(code) <= MAX_REASON_CHARS:
            raise ContractError(f"reason {quoted(code)} is not a code of 1 to {MAX_REASON_CHARS} characters")
    return score, scale, tuple(reasons), _pattern_field(data, "case", CASE_PATTERN, required=False)


def parse_ack(payload: bytes) -> Ack:
    data = _load_object(payload)
    stream = _id_field(data, "stream")
    upto = data.get("upto_seq")
    if not _is_int(upto) or not 0 <= upto <= MAX_SEQ:
        raise ContractError(f"upto_seq must be an integer from 0 to {MAX_SEQ}")
    return Ack(stream, upto)


def parse_status(payload: bytes) -> Status:
    data = _load_object(payload)
    online = data.get("online")
    if not isinstance(online, bool):
        raise ContractError("status online must be true or false")
    outbox = data.get("outbox")
    return Status(
        online=online,
        ts=data.get("ts") if isinstance(data.get("ts"), str) else None,
        window=data.get("window") if isinstance(data.get("window"), str) and WINDOW_PATTERN.match(data["window"])
        else None,
        presence=data.get("presence") if data.get("presence") in PRESENCE_STATES else None,
        outbox=outbox if _is_int(outbox) and outbox >= 0 else None,
        version=_version(data.get("version")),
        sensor=data.get("sensor") if data.get("sensor") in SENSOR_STATES else None,
        storage=data.get("storage") if data.get("storage") in STORAGE_STATES else None,
        ignored_acks=_ignored_acks(data.get("ignored_acks")),
        key=data.get("key") if isinstance(data.get("key"), str) and KEY_PATTERN.match(data["key"]) else None,
    )


def _ignored_acks(value: Any) -> dict | None:
    """A status's `ignored_acks` when whole and well-formed: {"count": 1.., "upto_seq": 0.., "ts": RFC 3339},
    integers up to MAX_SEQ, other keys dropped; else none."""
    if not isinstance(value, dict):
        return None
    count, upto_seq, ts = value.get("count"), value.get("upto_seq"), value.get("ts")
    if not (_is_int(count) and 1 <= count <= MAX_SEQ and _is_int(upto_seq) and 0 <= upto_seq <= MAX_SEQ):
        return None
    try:
        parse_ts(ts)
    except ValueError:
        return None
    return {"count": count, "upto_seq": upto_seq, "ts": ts}


def _version(value: Any) -> str | None:
    """A status's `version`: a string (or a number, written as one) kept to 64 characters; else none."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return (value if isinstance(value, str) else quoted(value, 64))[:64]


def parse_config(payload: bytes) -> Config:
    data = _load_object(payload, limit=64 * 1024)
    scale = data.get("scale", 5)
    if not _is_int(scale) or scale not in SCALES:
        raise ContractError(f"config scale {quoted(scale)} is not 3, 4 or 5")
    labels = data.get("labels") or DEFAULT_LABELS[scale]
    if not isinstance(labels, dict) or set(labels) != {str(s) for s in range(1, scale + 1)}:
        raise ContractError(f"config labels must name every score from 1 to {scale}")
    if not all(isinstance(v, str) and v for v in labels.values()):
        raise ContractError("config labels must be non-empty strings")
    reasons = data.get("reasons", list(DEFAULT_REASONS))
    if not isinstance(reasons, list) or not all(
        isinstance(r, dict) and isinstance(r.get("code"), str) and isinstance(r.get("label"), str)
        and 1 <= len(r["code"]) <= MAX_REASON_CHARS and _optional_text(r.get("label_en"), MAX_EN_LABEL)
        for r in reasons
    ):
        raise ContractError(f"config reasons must be a list of {{code, label}} with an optional label_en of at most "
                            f"{MAX_EN_LABEL} characters")
    staff = data.get("staff")
    if staff is not None and not (
        isinstance(staff, dict) and isinstance(staff.get("id"), str) and STAFF_PATTERN.match(staff["id"])
    ):
        raise ContractError("config staff must be {id, name} with a valid staff id")
    phrases = data.get("phrases", list(DEFAULT_PHRASES))
    if not isinstance(phrases, list) or len(phrases) > MAX_PHRASES or not all(
            isinstance(p, str) and 1 <= len(p.strip()) <= 40 for p in phrases):
        raise ContractError(f"config phrases must be a list of at most {MAX_PHRASES} texts of 1 to 40 characters")
    comment_url = data.get("comment_url")
    if comment_url is not None and not (isinstance(comment_url, str)
                                        and comment_url.startswith(("http://", "https://")) and len(comment_url) < 1024):
        raise ContractError("config comment_url must be an http(s) URL")
    roster = data.get("roster", [])
    if not isinstance(roster, list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) and STAFF_PATTERN.match(c["id"])
            and isinstance(c.get("name", ""), str) and is_pin_hash(c.get("pin")) for c in roster):
        raise ContractError("config roster must be a list of {id, name, pin} with a valid staff id and PIN hash")
    for key, value in (("title", data.get("title")), ("away_text", data.get("away_text")),
                       ("staff name", staff.get("name") if staff else None)):
        if value is not None and not isinstance(value, str):
            raise ContractError(f"config {key} must be a string, got {quoted(value)}")
    thanks_show_score = data.get("thanks_show_score")
    thanks_show_score = False if thanks_show_score is None else thanks_show_score
    if not isinstance(thanks_show_score, bool):
        raise ContractError(f"config thanks_show_score must be true or false, got {quoted(thanks_show_score)}")
    english = _english(data, scale, len(phrases))
    return Config(
        **english,
        phrases=tuple(p.strip() for p in phrases),
        comment_url=comment_url,
        roster=tuple({"id": c["id"], "name": c.get("name", ""), "pin": c["pin"]} for c in roster),
        title=str(data.get("title") or ""),
        staff={"id": staff["id"], "name": str(staff.get("name") or "")} if staff else None,
        scale=scale,
        labels={k: labels[k] for k in sorted(labels)},
        reasons=tuple({"code": r["code"], "label": r["label"],
                       **({"label_en": r["label_en"].strip()} if (r.get("label_en") or "").strip() else {})}
                      for r in reasons),
        language=data.get("language") if data.get("language") in ("zh", "en") else "zh",
        away_text=str(data.get("away_text") or Config.away_text),
        thanks_show_score=thanks_show_score,
    )


def _optional_text(value: Any, limit: int) -> bool:
    """Absent, or a string of at most `limit` characters."""
    return value is None or (isinstance(value, str) and len(value) <= limit)


def _english(data: dict[str, Any], scale: int, phrases: int) -> dict[str, Any]:
    """The optional English of custom texts (extension): bounded like the Chinese ones; "" means none."""
    for key, limit in (("title_en", MAX_EN_TITLE), ("away_text_en", MAX_EN_AWAY)):
        if not _optional_text(data.get(key), limit):
            raise ContractError(f"config {key} must be a string of at most {limit} characters")
    labels_en = data.get("labels_en") or {}
    if not isinstance(labels_en, dict) or not set(labels_en) <= {str(s) for s in range(1, scale + 1)} or not all(
            isinstance(v, str) and len(v) <= MAX_EN_LABEL for v in labels_en.values()):
        raise ContractError(f"config labels_en must map scores from 1 to {scale} to texts of at most "
                            f"{MAX_EN_LABEL} characters")
    phrases_en = data.get("phrases_en") or []
    if not isinstance(phrases_en, list) or len(phrases_en) > phrases or not all(
            isinstance(p, str) and len(p) <= MAX_EN_PHRASE for p in phrases_en):
        raise ContractError(f"config phrases_en must be a list of at most as many texts as phrases, each of at most "
                            f"{MAX_EN_PHRASE} characters")
    return {"title_en": (data.get("title_en") or "").strip(),
            "labels_en": {k: labels_en[k].strip() for k in sorted(labels_en) if labels_en[k].strip()},
            "phrases_en": tuple(p.strip() for p in phrases_en) if any(p.strip() for p in phrases_en) else (),
            "away_text_en": (data.get("away_text_en") or "").strip()}


def parse_case(value: Any) -> str:
    """A case number (办件编号) as the contract allows it, or ContractError."""
    if not isinstance(value, str) or not CASE_PATTERN.match(value):
        raise ContractError(f"case {quoted(value)} is not 1 to {MAX_CASE_CHARS} letters, digits, '-', '_', '/' or '.' "
                            "starting with a letter or digit")
    return value


def parse_invite(payload: bytes) -> Invite:
    """Validate an invite from the server (topic `ceval/v1/{device}/invite`)."""
    data = _load_object(payload)
    invite_id = data.get("id")
    if not _is_int(invite_id) or not 1 <= invite_id <= MAX_SEQ:
        raise ContractError(f"invite id must be an integer from 1 to {MAX_SEQ}")
    case = parse_case(data.get("case"))
    ts = data.get("ts")
    try:
        parse_ts(ts)
    except ValueError:
        raise ContractError(f"ts {quoted(ts)} is not an RFC 3339 timestamp with offset") from None
    ttl = data.get("ttl")
    if not _is_int(ttl) or not 1 <= ttl <= MAX_INVITE_TTL:
        raise ContractError(f"invite ttl must be an integer from 1 to {MAX_INVITE_TTL} seconds")
    return Invite(invite_id, case, ts, ttl)
