"""The contract's JSON API, behind bearer tokens: read-only, but for the one write, an invite for a case number."""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from server.domain.figures import BadRange, parse_range
from server.ingest.invite_push import INVITE_WAIT_SECONDS
from server.reporting import verified
from server.reporting.comparison import previous_period, year_before
from server.reporting.summary import staff_summary, window_summary
from server.web.context import get_store, local_today, now_ms, server_tz
from server.web.report_views import comparison, comparison_args
from server.web.scope import known_staff
from shared.contract import ContractError, parse_case
from shared.timefmt import format_ts, from_ms

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
    kiosk is online, for at most INVITE_WAIT_SECONDS. The API's one write.
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
    invite_id = store.invites.create_invite(window, case, device, now, expires, g.token_name)
    return jsonify({"id": invite_id, "window": window, "device": device, "case": case,
                    "expires": format_ts(from_ms(expires, server_tz()))}), 202
