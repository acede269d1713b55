"""Appeals (申诉) in the web app: anyone logged in files one against a rating of a window they may see
(usually the team leader, for a clerk); a manager or admin other than the filer (four eyes) upholds or rejects
it with a note. Upheld, the rating leaves every statistic (see server/store/appeals.py); the raw record and the
export keep it."""
from __future__ import annotations

import json
import logging
import sqlite3

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from server.domain.figures import BadRange, parse_range
from server.reporting import verified
from server.store.appeals import OwnAppeal
from server.web.auth import ROLES, current_user, login_required
from server.web.context import get_store, hall_time, local_today, now_ms, server_tz
from server.web.names import rating_level
from server.web.report_views import range_message, reason_labels, scoped_window_names
from server.web.scope import require_window, visible_windows

log = logging.getLogger(__name__)

bp = Blueprint("appeals", __name__, url_prefix="/appeals")

REASON_MAX = 500
NOTE_MAX = 500
STATUSES = {"pending": lazy_gettext("待处理"), "upheld": lazy_gettext("申诉成立"),
            "rejected": lazy_gettext("申诉不成立")}
OWN_APPEAL = lazy_gettext("不能处理自己提出的申诉：须由另一位管理者处理。")


def _rating_view(rating: dict) -> dict:
    """A rating as the pages show it: local time, level in words, the reasons the customer chose."""
    reasons = rating.get("reasons")
    return {**rating, "when": hall_time(rating["at"]), "level": rating_level(rating["score"], rating["scale"]),
            "reason_labels": reason_labels(json.loads(reasons)) if reasons else []}


def _appeal_view(appeal: dict) -> dict:
    return {**appeal, "level": rating_level(appeal["score"], appeal["scale"]), "status_label": STATUSES[appeal["status"]]}


@bp.get("")
@login_required()
def index():
    """The appeals: pending first (oldest first), then the decided ones, newest first."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, _("状态须为 pending、upheld 或 rejected"))
    window = request.args.get("window", "")
    if window:
        require_window(window)
    store = get_store()
    scoped = scoped_window_names()
    rows = [_appeal_view(a) for a in verified.mark(store, store.appeals.appeals(status=status or None, window=window or None,
                                                                      windows=scoped))]
    return render_template("appeals.html", rows=rows, counts=store.appeals.appeal_counts(scoped), statuses=STATUSES,
                           status=status, window=window, windows=visible_windows())


@bp.get("/new")
@login_required("manager")  # viewers read appeals; filing one is a follow-up, as cases are
def new():
    """The filing form for `?rating=<event id>`; without it, a window's ratings of a day to pick one from."""
    rating_id = request.args.get("rating", "").strip()
    if rating_id:
        return _filing_form(rating_id)
    return _picker()


def _picker():
    windows = visible_windows()
    window = request.args.get("window", "")
    day = request.args.get("day") or local_today().isoformat()
    try:
        days = parse_range(day, day, server_tz(), local_today())
    except BadRange as exc:
        abort(400, range_message(exc))
    ratings = []
    if window:
        require_window(window)
        store = get_store()
        ratings = [_rating_view(r) for r in verified.mark(store, store.appeals.window_ratings(window, days.start, days.end))]
    return render_template("appeal_new.html", rating=None, windows=windows, window=window,
                           day=days.first.isoformat(), ratings=ratings)


def _filing_form(rating_id: str, reason: str = "", errors: list[str] | None = None, status: int = 200):
    store = get_store()
    rating = store.appeals.rating_for_appeal(rating_id)
    if rating is None:
        abort(404, _("没有这条评价"))
    require_window(rating["window"])
    standing = store.appeals.standing_appeal(rating_id)
    verified.mark(store, [rating])
    return render_template("appeal_new.html", rating=_rating_view(rating), standing=standing, reason=reason,
                           errors=errors or [], reason_max=REASON_MAX), status


@bp.post("")
@login_required("manager")
def file_appeal():
    """File an appeal: the rating (its event id) and a reason of at most 500 characters."""
    rating_id = request.form.get("rating", "").strip()
    reason = request.form.get("reason", "").strip()
    if not rating_id:
        abort(400, _("请选择要申诉的评价"))
    errors = []
    if not reason:
        errors.append(_("请填写申诉理由。"))
    elif len(reason) > REASON_MAX:
        errors.append(_("申诉理由最多 %(n)s 个字。", n=REASON_MAX))
    store = get_store()
    rating = store.appeals.rating_for_appeal(rating_id)
    if rating is None:
        abort(404, _("没有这条评价"))
    require_window(rating["window"])
    if errors:
        return _filing_form(rating_id, reason, errors, 400)
    try:
        appeal_id = store.appeals.file_appeal(rating_id, current_user()["username"], reason, now_ms())
    except sqlite3.IntegrityError:
        return _filing_form(rating_id, reason, [_("这条评价已有申诉在处理或已成立。")], 409)
    if appeal_id is None:
        return _filing_form(rating_id, reason, [_("这条评价已不计入统计，不能再申诉。")], 409)
    log.info("appeal %s filed against rating %s by %s", appeal_id, rating_id, current_user()["username"])
    flash(_("申诉已提交，等待管理者处理。"))
    return redirect(url_for("appeals.detail", appeal=appeal_id))


def _visible_appeal(appeal_id: int) -> dict:
    appeal = get_store().appeals.appeal(appeal_id)
    if appeal is None:
        abort(404, _("没有这条申诉"))
    require_window(appeal["window"])
    return appeal


def _detail(appeal: dict, errors: list[str] | None = None, note: str = "", status: int = 200):
    rating = get_store().appeals.rating_for_appeal(appeal["rating_id"])
    user = current_user()
    own = appeal["filed_by"] == user["username"]
    can_decide = ROLES[user["role"]] >= ROLES["manager"] and appeal["status"] == "pending" and not own
    verified.mark(get_store(), [appeal])  # the staff number the rating carried: the roster's or not
    return render_template("appeal.html", appeal=_appeal_view(appeal),
                           rating=_rating_view(rating) if rating else None, can_decide=can_decide, own=own,
                           errors=errors or [], note=note, note_max=NOTE_MAX), status


@bp.get("/<int:appeal>")
@login_required()
def detail(appeal: int):
    """One appeal: the rating, the reason, who filed it and when, and the decision or the buttons to make it."""
    return _detail(_visible_appeal(appeal))


@bp.post("/<int:appeal>/decide")
@login_required("manager")
def decide(appeal: int):
    """Uphold or reject a pending appeal, with a note; never the filer's own (four eyes): 403."""
    row = _visible_appeal(appeal)
    user = current_user()["username"]
    if row["filed_by"] == user:
        abort(403, OWN_APPEAL)
    decision = request.form.get("decision", "")
    note = request.form.get("note", "").strip()
    errors = []
    if decision not in ("upheld", "rejected"):
        errors.append(_("请选择“申诉成立”或“申诉不成立”。"))
    if not note:
        errors.append(_("请填写处理意见。"))
    elif len(note) > NOTE_MAX:
        errors.append(_("处理意见最多 %(n)s 个字。", n=NOTE_MAX))
    if errors:
        return _detail(row, errors, note, 400)
    try:
        decided = get_store().appeals.decide_appeal(appeal, decision, user, note, now_ms())
    except OwnAppeal:
        abort(403, OWN_APPEAL)
    if not decided:
        return _detail(get_store().appeals.appeal(appeal), [_("这条申诉已经处理过了。")], note, 409)
    log.info("appeal %s %s by %s", appeal, decision, user)
    flash(_("申诉成立：这条评价已从所有统计中移除，原始记录保留。") if decision == "upheld"
          else _("申诉不成立：这条评价仍计入统计。"))
    return redirect(url_for("appeals.detail", appeal=appeal))
