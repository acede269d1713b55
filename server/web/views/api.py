"""The contract's JSON API, behind bearer tokens: read-only, but for the window's business system's two writes:
an invite for a case number, and customers served (参评率)."""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from server.domain.figures import BadRange, parse_range
from server.domain.participation import ON_DUTY_MS
from server.ingest.ingestor import FUTURE_LIMIT_MS
from server.ingest.invite_push import INVITE_WAIT_SECONDS
from server.reporting import verified
from server.reporting.comparison import previous_period, year_before
from server.reporting.summary import staff_summary, window_summary
from server.store import Served
from server.web.context import get_store, local_today, now_ms, server_tz
from server.web.rate_limits import retry_after, take
from server.web.report_views import comparison, comparison_args
from server.web.scope import known_staff
from shared.contract import ContractError, parse_case
from shared.timefmt import DAY_MS, format_ts, from_ms, parse_ts, to_ms

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(400)
@bp.errorhandler(401)
@bp.errorhandler(404)
@bp.errorhandler(405)
@bp.errorhandler(409)
def json_error(error):
    response = jsonify({"error": error.description})
    response.status_code = error.code
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="counter-eval"'
    return response


@bp.before_request
def require_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, "a bearer token is required: Authorization: Bearer <token>")
    name = get_store().accounts.token_name(token.strip())
    if name is None:
        abort(401, "the token is not valid")
    g.token_name = name


@bp.get("/windows")
def windows():
    """Every window; `verified` beside its clerk on duty when there is one (server/reporting/verified.py)."""
    store = get_store()
    return jsonify([
        {key: row[key] for key in ("window", "title", "device", "presence", "staff")} | {"online": bool(row["online"])}
        | ({"verified": row["verified"]} if row["staff"] else {})
        for row in verified.mark(store, store.reports.windows())
    ])


@bp.get("/windows/<window>/summary")
def summary(window: str):
    store = get_store()
    if store.reports.window(window) is None:
        abort(404, f"unknown window {window!r}")
    return jsonify(window_summary(store, window, _days(), now_ms()))


def _days():
    """`from`/`to` (today when absent), within the report rules of server/domain/figures.py; 400 with the rule broken."""
    try:
        return parse_range(request.args.get("from"), request.args.get("to"), server_tz(), local_today())
    except BadRange as exc:
        abort(400, str(exc))


@bp.get("/staff/<staff>/summary")
def staff_summary_view(staff: str):
    """A clerk's summary across windows: the window summary's shape with `staff` (and `name`, `windows`)."""
    store = get_store()
    if not known_staff(store, staff, None, None):
        abort(404, f"unknown staff {staff!r}")
    return jsonify(staff_summary(store, staff, _days(), now_ms()))


@bp.get("/compare")
def compare_view():
    """Every window (`by=window`) or clerk (`by=staff`) beside its previous period and the same period a year
    before (server/reporting/comparison.py)."""
    days = _days()
    try:
        by, column, order = comparison_args(request.args)
    except ValueError as exc:
        abort(400, str(exc))
    before, year = previous_period(days), year_before(days)
    return jsonify({"by": by, "from": days.first.isoformat(), "to": days.last.isoformat(),
                    "previous": {"from": before.first.isoformat(), "to": before.last.isoformat()},
                    "year_before": {"from": year.first.isoformat(), "to": year.last.isoformat()},
                    "sort": column, "order": order, "min_sample": get_store().settings.min_sample(),
                    "rows": comparison(get_store(), by, days, column, order, scoped=False)})


@bp.post("/windows/<window>/invite")
def invite(window: str):
    """The window's business system asks its kiosk to invite a rating for a case number (办件编号).

    202 with the invite once it is queued; the collector sends it to the kiosk within a second while the
    kiosk is online, for at most INVITE_WAIT_SECONDS. The customer counts as served (参评率).
    """
    store = get_store()
    if store.reports.window(window) is None:
        abort(404, f"unknown window {window!r}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, 'the body must be a JSON object: {"case": "<case number>"}')
    try:
        case = parse_case(body.get("case"))
    except ContractError as exc:
        abort(400, exc.reason)
    device = store.invites.window_kiosk(window)
    if device is None:
        abort(409, f"window {window!r} has no confirmed kiosk")
    now = now_ms()
    expires = now + INVITE_WAIT_SECONDS * 1000
    with store.db.atomic():
        invite_id = store.invites.create_invite(window, case, device, now, expires, g.token_name)
        store.served.add(window, [Served(now, 1, case)], "invite", now, ON_DUTY_MS)  # a customer served, once
    return jsonify({"id": invite_id, "window": window, "device": device, "case": case,
                    "expires": format_ts(from_ms(expires, server_tz()))}), 202


MAX_SERVED_COUNT = 1000   # customers in one post of a count: a window serves far fewer in any stretch
MAX_SERVED_CASES = 500    # case numbers in one post
SERVED_BODY_BYTES = 64 * 1024  # 500 case numbers of 50 characters, quoted, fit in half of it
SERVED_PAST_DAYS = 7      # how far back `at` may reach: a queueing system that was cut off posts later
SERVED_RATE = "600 per minute"  # posts per token, whatever the window
CASE_KEYS = ("case_no", "case", "cases")  # the same: a case number or a list of them ("case", "cases": v1 as first published)
SERVED_BODY = '{"count": N} or {"case_no": "<case number>"} or {"case_no": ["<case number>", ...]}'


@bp.post("/windows/<window>/served")
def served(window: str):
    """The window's business or queueing system counts served customers (参评率, server/domain/participation.py):
    `{"count": N}` or one customer per case number, `{"case_no": C}` / `{"case_no": [C, ...]}`, each with `"at"`
    optional (now). A case number counts once per window, invites included. 201 with how many customers were
    added and how many case numbers were already counted."""
    store = get_store()
    if store.reports.window(window) is None:
        abort(404, f"unknown window {window!r}")
    if not take(SERVED_RATE, "served", g.token_name):
        raise TooManyRequests(f"more than {SERVED_RATE} posts with this token: slow down",
                              retry_after=retry_after(SERVED_RATE, "served", g.token_name))
    body = _bounded_json(SERVED_BODY_BYTES)
    if not isinstance(body, dict):
        abort(400, f"the body must be a JSON object (Content-Type: application/json): {SERVED_BODY}")
    now = now_ms()
    try:
        at = _served_at(body.get("at"), now)
        entries = _served_entries(body, at)
    except ValueError as exc:
        abort(400, str(exc))
    added, duplicates = store.served.add(window, entries, f"api:{g.token_name}", now, ON_DUTY_MS)
    return jsonify({"window": window, "added": added, "duplicates": duplicates,
                    "at": format_ts(from_ms(at, server_tz()))}), 201


def _bounded_json(limit: int):
    """The body's JSON (None when it is not JSON), having read at most one byte past `limit`: a larger body is a
    413, whether its length was announced or it came in chunks."""
    request.max_content_length = limit + 1  # werkzeug stops reading there (and refuses a larger announced length)
    if len(request.get_data(cache=True)) > limit:
        raise RequestEntityTooLarge(f"the request body is larger than {limit // 1024} KiB")
    return request.get_json(silent=True)


def _served_at(value, now: int) -> int:
    """`at` (None: now) in epoch ms; ValueError when it is no RFC 3339 time or too far back or ahead."""
    if value is None:
        return now
    try:
        at = to_ms(parse_ts(value))
    except (TypeError, ValueError):
        raise ValueError("at must be an RFC 3339 time with offset, such as 2026-11-23T09:15:00+08:00") from None
    if at > now + FUTURE_LIMIT_MS or at < now - SERVED_PAST_DAYS * DAY_MS:
        raise ValueError(f"at must be within the last {SERVED_PAST_DAYS} days and not in the future")
    return at


def _served_entries(body: dict, at: int) -> list[Served]:
    """A count, or one customer per distinct case number (shared/contract.py's pattern); ValueError naming what
    is wrong."""
    given = [key for key in ("count", *CASE_KEYS) if key in body]
    if len(given) != 1:
        raise ValueError(f"give exactly one of count or case_no: {SERVED_BODY}")
    key = given[0]
    if key == "count":
        count = body["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SERVED_COUNT:
            raise ValueError(f"count must be a whole number from 1 to {MAX_SERVED_COUNT}")
        return [Served(at, count, None)]
    value = body[key]
    if not isinstance(value, list):
        return [Served(at, 1, _case(value, key))]
    if not 1 <= len(value) <= MAX_SERVED_CASES:
        raise ValueError(f"{key} must be a case number or a list of 1 to {MAX_SERVED_CASES} case numbers")
    numbers = dict.fromkeys(_case(v, f"{key}[{i}]") for i, v in enumerate(value))  # twice in one post: once
    return [Served(at, 1, number) for number in numbers]


def _case(value, where: str) -> str:
    try:
        return parse_case(value)
    except ContractError as exc:
        raise ValueError(f"{where}: {exc.reason}") from None
