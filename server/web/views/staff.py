"""The clerk report: one staff number's figures across the windows the user may see, and its downloads."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _

from server.domain.figures import daily_summaries, heat_map
from server.reporting import verified
from server.reporting.summary import staff_summary
from server.web.auth import login_required
from server.web.context import get_store, now_ms, server_tz
from server.web.report_tables import report_export
from server.web.report_views import (
    absence_limit_minutes,
    absence_rows,
    comment_rows,
    range_args,
    reason_rows,
    report_range,
    scoped_window_names,
)
from server.web.scope import known_staff, visible_sites

bp = Blueprint("staff", __name__)



def _staff_report(staff: str) -> dict:
    store = get_store()
    windows = scoped_window_names()
    if not known_staff(store, staff, visible_sites(), windows):
        abort(404, _("工号 %(staff)s 不存在", staff=staff))
    days = report_range()
    now = now_ms()
    tz = server_tz()
    quarters = store.reports.staff_rating_counts_by_quarter_hour(staff, days.start, days.end, windows)
    comments = comment_rows(store.reports.comments(days.start, days.end, staff=staff, windows=windows, limit=100))
    summary = staff_summary(store, staff, days, now, windows)
    return {"staff": staff, "days": days, "summary": summary, "breakdown": summary["windows"],
            "daily": daily_summaries(quarters, days), "heat": heat_map(quarters, tz),
            "absences": absence_rows(verified.mark(store, store.reports.staff_absence_list(staff, days.start, days.end,
                                                                                  windows)), now),
            "reasons": reason_rows(store.reports.staff_reason_counts(staff, days.start, days.end, windows)),
            "comments": comments, "limit_minutes": absence_limit_minutes(), "range_args": range_args(days),
            "flagged": store.misuse.flagged_list(days.start, days.end, staff=staff, windows=windows)}


@bp.get("/staff/<staff>")
@login_required()
def report(staff: str):
    """Distribution, satisfied rate, index, trend, hours, absences, reasons and comments of one clerk,
    and the same per window."""
    return render_template("staff.html", **_staff_report(staff))


@bp.get("/staff/<staff>.<any(csv, xlsx):fmt>")
@login_required()
def export(staff: str, fmt: str):
    """The report's tables, as the window report's: days, windows, absences, reasons, comments."""
    return report_export(f"staff-{staff}", _staff_report(staff), "window", fmt)
