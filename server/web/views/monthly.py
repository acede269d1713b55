"""The printable monthly report: the hall's month on a cover page with the windows ranked, then one page per
window; the same figures as CSV or XLSX. Managers and admins, only the windows of their sites."""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from server.domain import hours
from server.domain.figures import BadRange, DayRange, absence_summary, daily_summaries, parse_month, rating_summary
from server.domain.ranking import rank, standing
from server.reporting.exports import Sheet
from server.reporting.summary import window_summaries
from server.web.auth import login_required
from server.web.context import get_store, local_today, now_ms, server_tz
from server.web.downloads import export_response
from server.web.listing import SiteChoice, site_choice
from server.web.report_views import last_place, range_message, reason_rows
from server.web.scope import visible_windows
from shared.timefmt import local_text

log = logging.getLogger(__name__)

bp = Blueprint("monthly", __name__)

TOP_REASONS = 5


def month_range(text: str | None) -> DayRange:
    """`YYYY-MM` as the days of that month; the last full month when absent; 400 for a bad or future month."""
    today = local_today()
    if not text:
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        return parse_month(first.strftime("%Y-%m"), server_tz(), today)
    try:
        return parse_month(text, server_tz(), today)
    except BadRange as exc:
        abort(400, range_message(exc))


def month_before(days: DayRange) -> DayRange:
    """The calendar month before `days`' month."""
    last = days.first - timedelta(days=1)
    return DayRange(last.replace(day=1), last, days.tz)


def trend_chart(daily: list[dict], width: int = 600, height: int = 80) -> dict:
    """Geometry of a small SVG chart: a bar per day (ratings) and a line for the satisfied share."""
    slot = width / max(1, len(daily))
    peak = max((d["total"] for d in daily), default=0) or 1
    bars, lines, line = [], [], []
    for i, d in enumerate(daily):
        h = round(d["total"] / peak * height, 1)
        bars.append({"x": round(i * slot + slot * 0.15, 1), "y": round(height - h, 1), "w": round(slot * 0.7, 1),
                     "h": h, "total": d["total"], "date": d["date"], "day": int(d["date"][8:]),
                     "label_x": round(i * slot + slot / 2, 1)})
        if d["satisfied_rate"] is None:
            if line:
                lines.append(" ".join(line))
            line = []
        else:
            line.append(f"{i * slot + slot / 2:.1f},{height - d['satisfied_rate'] * height:.1f}")
    if line:
        lines.append(" ".join(line))
    return {"width": width, "height": height, "bars": bars, "lines": lines, "peak": peak,
            "label_every": 1 if len(daily) <= 16 else 2}


def month_report(days: DayRange, sites: list[str | None] | None = None) -> dict:
    """Every visible window's month (its figures from window_summary, as the API gives them) and the hall's;
    those of `sites` when given (a site chosen, server/web/listing.py)."""
    store = get_store()
    now = now_ms()
    windows, all_counts, all_quarters, all_spans = [], [], [], []
    feedback = 0
    reasons: Counter[str] = Counter()
    rows = visible_windows() if sites is None else store.reports.windows(sites)
    names = [row["window"] for row in rows]
    summaries = window_summaries(store, names, days, now)
    quarters_of: dict[str, list] = defaultdict(list)  # one query each for every window, not three per window
    for w, *quarter in store.reports.rating_counts_by_quarter_hour_of(names, days.start, days.end):
        quarters_of[w].append(tuple(quarter))
    spans_of: dict[str, list] = defaultdict(list)
    for w, a, b in store.reports.absences_of(names, days.start, days.end):
        spans_of[w].append((a, b))
    reasons_of: dict[str, list] = defaultdict(list)
    for w, code, n in store.reports.reason_counts_of(names, days.start, days.end):
        reasons_of[w].append((code, n))
    for row in rows:
        w = row["window"]
        summary = summaries[w]
        quarters = quarters_of[w]
        daily = daily_summaries(quarters, days)
        spans = spans_of[w]
        all_quarters += quarters
        all_counts += [(scale, score, n) for _q, scale, score, n in quarters]
        all_spans += spans
        feedback += summary["feedback"]["count"]
        window_reasons = reason_rows(reasons_of[w])
        reasons.update(dict(window_reasons))
        windows.append({"window": w, "title": row["title"], "site": row.get("site"), "summary": summary,
                        "standing": standing((scale, score, n) for _q, scale, score, n in quarters),
                        "daily": daily, "trend": trend_chart(daily),
                        "reasons": window_reasons[:TOP_REASONS],
                        "staffed": (summary.get("staffed") or {}).get("share")})
    min_sample = store.settings.min_sample()
    rank(windows, lambda w: w["summary"]["ratings"] | w["standing"], "rank", "last", min_sample,  # as 三比 ranks
         ranked="ranked")
    before = month_before(days)
    counts: dict[str, list] = {}
    for window, scale, score, n in store.reports.rating_counts_of([w["window"] for w in windows], before.start, before.end):
        counts.setdefault(window, []).append((scale, score, n))
    rank(windows, lambda w: rating_summary(counts.get(w["window"], [])) | standing(counts.get(w["window"], [])),
         "prev_rank", "prev_last", min_sample)
    ranking = sorted(windows, key=lambda w: (w["rank"] is None, w["rank"] or 0, w["window"]))
    hall_daily = daily_summaries(all_quarters, days)
    hall = {"ratings": rating_summary(all_counts), "absences": absence_summary(all_spans, now),
            "feedback": {"count": feedback}, "daily": hall_daily, "trend": trend_chart(hall_daily),
            "reasons": sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS],
            "staffed": hours.combined_staffed_share([w["summary"].get("staffed") for w in windows])}
    return {"days": days, "month": days.first.strftime("%Y-%m"), "windows": windows, "ranking": ranking,
            "min_sample": min_sample, "places": sum(1 for w in windows if w["ranked"]),
            "hall": hall, "top": max((int(k) for w in windows for k in w["summary"]["ratings"]["by_score"]),
                                     default=5)}


@bp.get("/reports/monthly")
@login_required()  # viewers read the reports of their sites
def report():
    """A city's report is a site's (`?site=`): one printed page per window of 5,000 is no report."""
    days = month_range(request.args.get("month"))
    made = local_text(now_ms(), server_tz(), "minute")
    choice = site_choice()
    return render_template("monthly.html", made=made, this_month=local_today().strftime("%Y-%m"),
                           last_place=last_place, choice=choice, **month_report(days, _sites(choice)))


def _sites(choice: SiteChoice) -> list[str | None] | None:
    """The `sites` of month_report: the one chosen, else None (every visible window)."""
    return choice.sites if choice.site else None


@bp.get("/reports/monthly.<any(csv, xlsx):fmt>")
@login_required()
def export(fmt: str):
    """A summary sheet (one row per window, ranked, and the hall's total) and a daily sheet (window x day)."""
    days = month_range(request.args.get("month"))
    data = month_report(days, _sites(site_choice(all_allowed=True)))  # without ?site=: every window, as before
    top = data["top"]
    scores = range(top, 0, -1)
    with_staffed = any(w["staffed"] is not None for w in data["windows"])
    headers = [_("名次"), _("窗口"), _("名称"), _("评价数"), *[_("%(n)s分", n=s) for s in scores], _("满意率"),
               _("满意率下限（95％ 置信）"), _("满意率上限（95％ 置信）"), _("满意指数"), _("离岗次数"), _("离岗总时长（秒）"),
               _("最长离岗（秒）"), _("留言数"), *([_("在岗率")] if with_staffed else []), _("上月名次"), _("末位")]

    def line(rank, window, title, s, staffed, interval=None, prev_rank=None, last=None):
        r, a = s["ratings"], s["absences"]
        return [rank, window, title, r["total"], *[r["by_score"].get(str(n), 0) for n in scores],
                r["satisfied_rate"], *(interval or (None, None)), r["index"], a["count"], a["total_seconds"],
                a["longest_seconds"], s["feedback"]["count"], *([staffed] if with_staffed else []), prev_rank, last]

    def place(w: dict):
        return w["rank"] if w["rank"] or not w["summary"]["ratings"]["total"] else _("样本不足")

    summary = Sheet(_("汇总"), headers,
                    [line(place(w), w["window"], w["title"], w["summary"], w["staffed"],
                          w["standing"]["satisfied_interval"], w["prev_rank"], last_place(w)) for w in data["ranking"]])
    hall = data["hall"]
    summary.rows.append(line(None, _("合计"), _("全部 %(n)s 个窗口", n=len(data["windows"])), hall,
                             hall["staffed"]))
    daily = Sheet(_("每日"), [_("窗口"), _("日期"), _("评价数"), *[_("%(n)s分", n=s) for s in scores], _("满意率"),
                             _("满意指数")],
                  [[w["window"], d["date"], d["total"], *[d["by_score"].get(str(n), 0) for n in scores],
                    d["satisfied_rate"], d["index"]] for w in data["windows"] for d in w["daily"]])
    return export_response(f"monthly-{data['month']}", [summary, daily], fmt)
