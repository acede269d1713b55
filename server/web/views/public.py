"""The public board (公示) for a hall's lobby screen: no log-in, only for sites that opted in.

Each window with its clerk on duty and its satisfaction today and this month, taken from
window_summary so the figures equal the API's. Nothing else: no comments, no absences,
nothing about customers.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request
from flask_babel import gettext as _

from server.domain.figures import DayRange
from server.reporting import verified
from server.reporting.summary import window_summaries
from server.web.context import get_store, hall_clock, local_today, now_ms, server_tz
from server.web.security import embeddable

bp = Blueprint("public", __name__)

REFRESH_SECONDS = 30       # how often the page fetches its figures; `?refresh=N` sets it for one screen
REFRESH_LIMITS = (5, 300)


def _ratings(summary: dict) -> dict:
    r = summary["ratings"]
    return {"total": r["total"], "satisfied_rate": r["satisfied_rate"], "index": r["index"]}


def board_data(site: str) -> dict:
    """What the board shows; 404 unless the site exists and opted in."""
    store = get_store()
    row = store.kiosk_config.public_site(site)
    if row is None:
        abort(404, _("没有这个公示页面"))
    today = local_today()
    tz, now = server_tz(), now_ms()
    days = {"today": DayRange(today, today, tz), "month": DayRange(today.replace(day=1), today, tz)}
    rows = verified.mark(store, store.kiosk_config.public_windows(site))  # a number the site's roster lacks shows no name
    figures = {name: window_summaries(store, [w["window"] for w in rows], span, now) for name, span in days.items()}
    windows = [{"window": w["window"], "title": w["title"], "staff_name": w["staff_name"] if w["verified"] else None,
                **{name: _ratings(figures[name][w["window"]]) for name in days}} for w in rows]
    return {"site": row["site"], "name": row["name"], "today": today.isoformat(), "updated": hall_clock(),
            "month_from": days["month"].first.isoformat(), "windows": windows}


@bp.get("/public/<site>")
@embeddable
def board(site: str):
    every = request.args.get("refresh", REFRESH_SECONDS, type=int)
    every = min(max(every, REFRESH_LIMITS[0]), REFRESH_LIMITS[1])
    return render_template("public_board.html", data=board_data(site), refresh=every)


@bp.get("/public/<site>.json")
def board_json(site: str):
    return jsonify(board_data(site))
