"""The managers' HTML pages, and the JSON they refresh themselves from."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, jsonify, render_template, request

from .auth import login_required
from .reports import BadRange, DayRange, parse_range, window_state
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


@bp.get("/comments")
@login_required()
def comments():
    """The opinion book: searchable by text, window, clerk, score and dates."""
    args = request.args
    errors = []
    try:
        days = parse_range(args.get("from") or (local_today() - timedelta(days=29)).isoformat(),
                           args.get("to") or None, server_tz(), local_today())
    except BadRange as exc:
        errors.append(str(exc))
        days = DayRange(local_today() - timedelta(days=29), local_today(), server_tz())
    score = args.get("score", "")
    if score and not (score.isdigit() and 1 <= int(score) <= 5):
        errors.append("评分须为 1 到 5")
        score = ""
    rows = get_store().comments(days.start, days.end, text=args.get("q", "").strip()[:100],
                                window=args.get("window", ""), staff=args.get("staff", ""),
                                score=int(score) if score else None)
    tz = server_tz()
    for row in rows:
        row["when"] = datetime.fromtimestamp(row["at"] / 1000, tz).strftime("%Y-%m-%d %H:%M")
    return render_template("comments.html", rows=rows, days=days, args=args, errors=errors,
                           windows=get_store().windows()), (400 if errors else 200)
