"""The managers' HTML pages, and the JSON they refresh themselves from."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from shared.contract import DEFAULT_REASONS

from .auth import login_required
from .reports import BadRange, DayRange, daily_summaries, heat_map, parse_range, window_state
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


def _report_range() -> DayRange:
    """`from`/`to` of a report; this month so far when absent. BadRange for bad dates."""
    today = local_today()
    return parse_range(request.args.get("from") or today.replace(day=1).isoformat(),
                       request.args.get("to") or today.isoformat(), server_tz(), today)


def _window_report(window: str) -> tuple[dict, DayRange, list[dict]]:
    store = get_store()
    row = store.window(window)
    if row is None:
        abort(404, f"窗口 {window} 不存在")
    try:
        days = _report_range()
    except BadRange as exc:
        abort(400, str(exc))
    daily = daily_summaries(store.rating_counts_by_quarter_hour(window, days.start, days.end), days)
    return row, days, daily


@bp.get("/windows/<window>")
@login_required()
def window_report(window: str):
    """One window over a range of days: the same figures as the API, and the trend per day."""
    row, days, daily = _window_report(window)
    store = get_store()
    now = now_ms()
    summary = window_summary(store, window, days, now)
    limit_ms = int(current_app.config.get("ABSENCE_LIMIT_MINUTES", 15)) * 60000
    tz = server_tz()
    absences = []
    for a in store.absence_list(window, days.start, days.end):
        length = (a["end_at"] if a["end_at"] is not None else now) - a["start_at"]
        absences.append({**a, "begun": datetime.fromtimestamp(a["start_at"] / 1000, tz).strftime("%m-%d %H:%M"),
                         "minutes": length // 60000, "seconds": length // 1000 % 60, "open": a["end_at"] is None,
                         "over": length > limit_ms})
    labels = {r["code"]: r["label"] for r in DEFAULT_REASONS}
    reasons = [(labels.get(code, code), n) for code, n in store.reason_counts(window, days.start, days.end)]
    heat = heat_map(store.rating_counts_by_quarter_hour(window, days.start, days.end), tz)
    return render_template("window.html", window=row, days=days, summary=summary, daily=daily, absences=absences,
                           limit_minutes=limit_ms // 60000, reasons=reasons, heat=heat)


@bp.get("/windows/<window>.csv")
@login_required()
def window_csv(window: str):
    """The report's days as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    row, days, daily = _window_report(window)
    top = max((int(k) for d in daily for k in d["by_score"]), default=5)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["日期", "评价数", *[f"{s}分" for s in range(top, 0, -1)], "满意率", "满意指数"])
    for day in daily:
        writer.writerow([day["date"], day["total"], *[day["by_score"].get(str(s), 0) for s in range(top, 0, -1)],
                         "" if day["satisfied_rate"] is None else day["satisfied_rate"],
                         "" if day["index"] is None else day["index"]])
    name = f"{window}-{days.first.isoformat()}-{days.last.isoformat()}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/fleet")
@login_required("manager")
def fleet():
    """The kiosks: online or not, version, outbox backlog, last seen, sensor, rejected messages, gaps."""
    store = get_store()
    tz = server_tz()

    def local(ms):
        return datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S") if ms else "—"

    devices = [{**d, "last_seen_local": local(d["last_seen"])} for d in store.fleet()]
    rejects = [{**r, "when": local(r["received_at"])} for r in store.recent_rejects()]
    return render_template("fleet.html", devices=devices, rejects=rejects)
