"""The managers' HTML pages, and the JSON they refresh themselves from."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from .auth import login_required
from .reports import DayRange, window_state
from .summary import window_summary
from .web_db import get_store, local_today, now_ms, server_tz

bp = Blueprint("pages", __name__)


def board_rows() -> list[dict]:
    """Every window: its live state and today's figures, as the board shows them."""
    store = get_store()
    today = local_today()
    days = DayRange(today, today, server_tz())
    now = now_ms()
    away = store.away_since()
    return [{**w, "online": bool(w["online"]),
             **window_state(bool(w["online"]), w["presence"], w["staff"], away.get(w["window"]), now),
             "today": window_summary(store, w["window"], days, now)} for w in store.windows()]


@bp.get("/")
@login_required()
def board():
    return render_template("board.html", rows=board_rows(), today=local_today())


@bp.get("/board.json")
@login_required()
def board_json():
    """What the board page polls: it updates itself without a reload."""
    return jsonify({"today": local_today().isoformat(), "windows": board_rows()})
