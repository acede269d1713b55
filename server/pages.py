"""The HTML pages. Step 1 has one: today's figures for every window."""
from __future__ import annotations

from flask import Blueprint, render_template

from .auth import login_required
from .reports import DayRange
from .summary import window_summary
from .web_db import get_store, local_today, now_ms, server_tz

bp = Blueprint("pages", __name__)


@bp.get("/")
@login_required()
def board():
    store = get_store()
    today = local_today()
    days = DayRange(today, today, server_tz())
    rows = [{**w, "today": window_summary(store, w["window"], days, now_ms())} for w in store.windows()]
    return render_template("board.html", rows=rows, today=today)
