"""Counter staff read their own feedback: sign in with staff number and PIN (the kiosk's), then the ratings,
reasons and comments given to them over the last 30 days, ending yesterday (server/domain/periods.py), in bulk
and without times of day, so that nothing points at the customer just served; nothing of any other clerk.

Sign-in tries are counted like the managers' log-in (server/web/auth.py): per staff number and address, and
per address, before the PIN is checked. A clerk whose PIN is of the old, weak kind must get a new one first.
"""
from __future__ import annotations

import functools
import logging
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.domain.figures import DayRange, rating_summary
from server.domain.periods import CLERK_DAYS, clerk_feedback_days
from server.web import rate_limits
from server.web.auth import LOGIN_PER_ADDRESS, LOGIN_PER_USER_AT_ADDRESS, clerk_row, current_user, start_session
from server.web.context import get_store, server_tz
from server.web.report_views import reason_rows
from shared.contract import STAFF_PATTERN
from shared.pins import PIN_MIN, hash_pin, is_strong_pin_hash, verify_pin
from shared.timefmt import local_text

log = logging.getLogger(__name__)

bp = Blueprint("clerk", __name__)


@bp.route("/clerk/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("clerk_login.html", error=None, staff="")
    staff = request.form.get("staff", "").strip()[:16]
    address = request.remote_addr or "-"
    per_clerk = ("clerk-login", staff, address)
    if not (rate_limits.take(LOGIN_PER_ADDRESS, "login-address", address)
            and rate_limits.take(LOGIN_PER_USER_AT_ADDRESS, *per_clerk)):
        log.warning("clerk sign-in refused for %r from %s: too many tries", staff, address)
        return render_template("clerk_login.html", error=_("尝试次数过多，请 15 分钟后再试。"), staff=staff), 429
    row = get_store().registry.clerk(staff) if STAFF_PATTERN.match(staff) else None
    known = bool(row and row["active"] and row["pin_hash"])
    # a staff number that cannot sign in costs the same PIN check: the answer's time tells nothing
    if verify_pin(request.form.get("pin", ""), row["pin_hash"] if known else _unknown_clerk_hash()) and known:
        if not is_strong_pin_hash(row["pin_hash"]):
            return render_template("clerk_login.html", staff=staff,
                                   error=_("您的 PIN 码是旧版设置的，请先请管理员重新设置。")), 403
        rate_limits.forget(LOGIN_PER_USER_AT_ADDRESS, *per_clerk)
        token = row["session_token"] or get_store().registry.end_clerk_sessions(staff)
        start_session(clerk_row({**row, "session_token": token}))
        return redirect(url_for("clerk.mine"))
    log.warning("failed clerk sign-in for %r from %s", staff, address)
    return render_template("clerk_login.html", error=_("工号或 PIN 码不正确。"), staff=staff), 401


@functools.cache
def _unknown_clerk_hash() -> str:
    return hash_pin("0" * PIN_MIN, salt=bytes(16))


@bp.get("/me")
def mine():
    """The signed-in clerk's own feedback; anyone else is sent where they belong."""
    user = current_user()
    if user is None:
        return redirect(url_for("clerk.login"))
    if user["role"] != "clerk":
        abort(403)
    store = get_store()
    staff = user["staff"]
    site = store.registry.site(user["site"]) if user["site"] else None
    tz = ZoneInfo(site["timezone"]) if site else server_tz()
    today = current_app.config["CLOCK"].now().astimezone(tz).date()
    days = DayRange(*clerk_feedback_days(today), tz)
    # a clerk of a site: only its windows (the same number at another hall is another person)
    windows = [w["window"] for w in store.reports.windows() if w.get("site") == site["site"]] if site else None
    ratings = rating_summary(store.reports.staff_rating_counts(staff, days.start, days.end, windows))
    reasons = reason_rows(store.reports.staff_reason_counts(staff, days.start, days.end, windows))
    comments = [{"day": local_text(c["at"], tz, "date"), "text": c["text"]}
                for c in store.reports.comments(days.start, days.end, staff=staff, windows=windows, limit=500)]
    return render_template("clerk_me.html", clerk=user, days=days, span=CLERK_DAYS, ratings=ratings,
                           reasons=reasons, comments=comments)
