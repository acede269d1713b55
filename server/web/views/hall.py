"""The managers' HTML pages, and the JSON they refresh themselves from. Every page shows only the windows of
the user's sites (server/web/scope.py); the clerk report and the comparison live in staff_pages and compare."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.domain.figures import BadRange, DayRange, daily_summaries, heat_map, parse_range, window_state
from server.reporting import verified
from server.reporting.exports import Sheet
from server.reporting.summary import window_summaries, window_summary
from server.web.auth import login_required
from server.web.context import get_store, hall_clock, hall_time, local_today, now_ms, server_tz
from server.web.downloads import export_response
from server.web.listing import paging, site_choice
from server.web.navigation import open_alerts
from server.web.report_tables import report_export, window_clerks
from server.web.report_views import (
    FILTERS,
    absence_limit_minutes,
    absence_rows,
    comment_rows,
    flag_reasons,
    range_args,
    range_message,
    range_presets,
    reason_rows,
    report_range,
    scoped_window_names,
    staff_cell,
)
from server.web.scope import require_window, visible_sites, visible_windows

bp = Blueprint("pages", __name__)
for _name, _filter in FILTERS.items():
    bp.add_app_template_filter(_filter, _name)
bp.add_app_template_global(range_presets)
bp.add_app_template_global(flag_reasons)

EXPORT = "<any(csv, xlsx):fmt>"
FLEET_REJECTS = 5  # rejected messages shown per device on /fleet, newest first; each device's count is exact


def board_rows(sites: list[str | None] | None) -> list[dict]:
    """Every window of `sites` (listing.SiteChoice.sites: the user's, or the one chosen): its live state and
    today's figures, as the board shows them."""
    store = get_store()
    today = local_today()
    days = DayRange(today, today, server_tz())
    now = now_ms()
    away = store.reports.away_since()
    windows = verified.mark(store, store.reports.windows(sites))  # beside each clerk on duty
    today_figures = window_summaries(store, [w["window"] for w in windows], days, now)
    return [{**w, "online": bool(w["online"]),
             **window_state(bool(w["online"]), w["presence"], w["staff"], away.get(w["window"]), now,
                          kiosk=bool(w["device"])),
             "today": today_figures[w["window"]]} for w in windows]


@bp.get("/")
@login_required()
def board():
    """The hall board; `?wall` is the wall screen: no navigation, type and rows scaled to fill the screen. A
    city's board shows one site at a time (`?site=`; server/web/listing.py)."""
    choice = site_choice()
    return render_template("board.html", rows=board_rows(choice.sites), today=local_today(), updated=hall_clock(),
                           wall="wall" in request.args, choice=choice)


@bp.get("/board.json")
@login_required()
def board_json():
    """What the board page polls: it updates itself without a reload. `alerts`: unacknowledged alerts of the
    user's sites. `updated`: the hall's time of the figures (web_db.hall_clock). `?site=`: that site's windows
    only (the board of a city), else every window the user sees."""
    choice = site_choice(all_allowed=True)
    return jsonify({"today": local_today().isoformat(), "updated": hall_clock(), "windows": board_rows(choice.sites),
                    "alerts": open_alerts()})


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it without reading the page; the pages link the SVG itself."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


def _comment_search() -> tuple[list[dict], DayRange, list[str]]:
    """The opinion book's filters from the query string: rows, range, and what was wrong with the filters."""
    args = request.args
    errors = []
    tz = server_tz()
    try:
        days = parse_range(args.get("from") or (local_today() - timedelta(days=29)).isoformat(),
                           args.get("to") or None, tz, local_today())
    except BadRange as exc:
        errors.append(range_message(exc))
        days = DayRange(local_today() - timedelta(days=29), local_today(), tz)
    score = args.get("score", "")
    if score and not (score.isdigit() and 1 <= int(score) <= 5):
        errors.append(_("评分须为 1 到 5"))
        score = ""
    window = args.get("window", "")
    if window:
        require_window(window)
    store = get_store()
    rows = store.reports.comments(days.start, days.end, text=args.get("q", "").strip()[:100], window=window,
                          staff=args.get("staff", "").strip(), score=int(score) if score else None,
                          windows=scoped_window_names())
    return comment_rows(verified.mark(store, rows)), days, errors


@bp.get("/comments")
@login_required()
def comments():
    """The opinion book: searchable by text, window, clerk, score and dates."""
    rows, days, errors = _comment_search()
    export = {k: v for k, v in request.args.items() if k in ("q", "window", "staff", "score", "from", "to")}
    return render_template("comments.html", rows=rows, days=days, args=request.args, errors=errors,
                           windows=visible_windows(), export=export), (400 if errors else 200)


@bp.get(f"/comments.{EXPORT}")
@login_required()
def comments_export(fmt: str):
    """The comments the same filters find, as a download."""
    rows, days, errors = _comment_search()
    if errors:
        abort(400, "; ".join(errors))
    sheet = Sheet(_("留言"), [_("时间"), _("窗口"), _("工号"), _("评分"), _("满分"), _("来源"), _("留言")],
                  [[r["when"], r["title"] or r["window"], staff_cell(r["staff"], r["verified"]), r["score"],
                    r["scale"], _("手机") if r["channel"] == "phone" else _("评价器"), r["text"]] for r in rows])
    return export_response(f"comments-{days.first.isoformat()}-{days.last.isoformat()}", [sheet], fmt)


def _window_report(window: str) -> dict:
    """Everything the window report and its downloads show."""
    row = require_window(window)
    days = report_range()
    store = get_store()
    now = now_ms()
    quarters = store.reports.rating_counts_by_quarter_hour(window, days.start, days.end)
    absences = store.reports.absence_list(window, days.start, days.end)
    comments = store.reports.comments(days.start, days.end, window=window, limit=100)
    verified.mark(store, [row, *absences, *comments])  # the staff numbers shown: the roster's or not
    return {"window": row, "days": days, "summary": window_summary(store, window, days, now),
            "breakdown": window_clerks(store, window, days, now),
            "daily": daily_summaries(quarters, days), "heat": heat_map(quarters, server_tz()),
            "absences": absence_rows(absences, now),
            "reasons": reason_rows(store.reports.reason_counts(window, days.start, days.end)),
            "comments": comment_rows(comments),
            "limit_minutes": absence_limit_minutes(), "range_args": range_args(days),
            "flagged": store.misuse.flagged_list(days.start, days.end, window=window)}


@bp.get("/windows/<window>")
@login_required()
def window_report(window: str):
    """One window over a range of days: the same figures as the API, the trend per day, hours, absences."""
    return render_template("window.html", **_window_report(window))


@bp.get(f"/windows/<window>.{EXPORT}")
@login_required()
def window_export(window: str, fmt: str):
    """The report's tables, as the clerk report's: days, clerks, absences, reasons, comments."""
    return report_export(window, _window_report(window), "staff", fmt)


@bp.get("/fleet")
@login_required("manager")
def fleet():
    """The kiosks: online or not, version, outbox backlog, last seen, sensor, storage, rejected messages, gaps,
    ignored (forged) acks."""
    store = get_store()
    choice = site_choice()
    total, online = store.reports.fleet_counts(choice.sites)
    pages = paging(total)
    devices = [{**d, "last_seen_local": hall_time(d["last_seen"], none="—"),
                "storage_since_local": hall_time(d["storage_since"], none="—"),
                "ignored_ack_local": hall_time(d["ignored_ack_at"], none="—")}
               for d in store.reports.fleet(choice.sites, pages.size, pages.offset)]
    # The newest few of each device on the page, so one flooding kiosk cannot hide the others' (each with its
    # exact count); those on topics naming no device only for those who see every window.
    newest = store.ingest.device_rejects(FLEET_REJECTS, [d["device"] for d in devices])
    rejects = [{**d, "rejects": [{**r, "when": hall_time(r["received_at"])} for r in newest.get(d["device"], [])]}
               for d in devices if d["rejected"] or d["device"] in newest]
    deviceless = [] if visible_sites() is not None else [{**r, "when": hall_time(r["received_at"])}
                                                         for r in store.reports.deviceless_rejects(FLEET_REJECTS)]
    return render_template("fleet.html", devices=devices, rejects=rejects, deviceless=deviceless,
                           shown=FLEET_REJECTS, total=total, online=online, choice=choice, paging=pages)
