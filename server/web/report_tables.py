"""What the window report and the clerk report share beyond their figures: the breakdown (a window's clerks,
a clerk's windows) and the downloads. One builder for both, so the two reports always offer the same sheets:
每日 (days), the breakdown, 离岗记录 (absences), 不满意原因 (reasons) and 留言 (comments)."""
from __future__ import annotations

from flask import Response
from flask_babel import gettext as _

from server.domain.figures import DayRange, absence_summary, rating_summary
from server.domain.participation import participation
from server.reporting import verified
from server.reporting.exports import Sheet
from server.store import Store
from server.web.context import hall_time
from server.web.downloads import export_response
from server.web.report_views import absence_sheet, daily_sheet, flag_reasons, reason_sheet, staff_cell


def window_clerks(store: Store, window: str, days: DayRange, now_ms: int) -> list[dict]:
    """A window's clerks over the days, as the clerk report lists its windows: ratings, absences and comments
    under each staff number the window's events carried (numbers it never carried are not listed)."""
    counts: dict[str, list] = {}
    for staff, scale, score, n in store.reports.rating_counts_grouped("staff", days.start, days.end, [window]):
        counts.setdefault(staff, []).append((scale, score, n))
    spans: dict[str, list] = {}
    for staff, start, end in store.reports.absences_grouped("staff", days.start, days.end, [window]):
        spans.setdefault(staff, []).append((start, end))
    feedback = store.reports.feedback_counts_grouped("staff", days.start, days.end, [window])
    served = store.served.counts_by_staff(days.start, days.end, [window])
    seen = sorted(set(counts) | set(spans) | set(feedback) | set(served))
    names = store.reports.staff_names(seen)
    rows = [{"staff": staff, "window": window, "name": names.get(staff),
             "ratings": rating_summary(counts.get(staff, [])), "absences": absence_summary(spans.get(staff, []), now_ms),
             "feedback": {"count": feedback.get(staff, 0)},
             "participation": participation(sum(n for _, _, n in counts.get(staff, [])), served.get(staff, 0))}
            for staff in seen]
    return verified.mark(store, rows)


def breakdown_sheet(rows: list[dict], by: str, total: dict) -> Sheet:
    """The breakdown: per clerk (`by` = "staff", a window's report) or per window (a clerk's report), and last the
    report's own figures (`total`, its summary), 合计."""
    if by == "staff":
        title, heads, keys = _("分工号"), [_("工号"), _("姓名")], [lambda r: staff_cell(r["staff"], r["verified"]),
                                                                   lambda r: r["name"]]
    else:
        title, heads, keys = _("分窗口"), [_("窗口"), _("名称")], [lambda r: r["window"], lambda r: r["title"]]

    def figures(r: dict) -> list:
        return [r["ratings"]["total"], r["ratings"]["satisfied_rate"], r["ratings"]["index"], r["absences"]["count"],
                r["absences"]["total_seconds"], r["feedback"]["count"], *participation_cells(r["participation"])]
    return Sheet(title, [*heads, _("评价数"), _("满意率"), _("满意指数"), _("离岗次数"), _("离岗时长（秒）"), _("留言"),
                         *participation_headers()],
                 [*([*(key(r) for key in keys), *figures(r)] for r in rows), [_("合计"), None, *figures(total)]])


def participation_headers() -> list[str]:
    """The columns of `participation_cells`."""
    return [_("服务人数"), _("参评率"), _("参评率超过 100％")]


def participation_cells(p: dict) -> list:
    """参评率 (server/domain/participation.py) in a download's row: customers served (empty while none is known),
    ratings per served customer, and 是 above 100%. Every download that shows the rate writes it with these."""
    return [p["served"] or None, p["rate"], _("是") if p["over"] else ""]


def misuse_sheet(figures: dict, flagged: list[dict]) -> Sheet:
    """Suspected misuse: the figures with and without flagged ratings, then each flagged rating and why."""
    counted = _("正式数字不含") if figures["official"] == "unflagged" else _("正式数字含")
    rows = [[_("合计"), None, None, figures["flagged"], figures["with_flagged"]["satisfied_rate"],
             figures["without_flagged"]["satisfied_rate"], counted]]
    rows += [[hall_time(r["at"], "minute"), r["window"], r["staff"], r["score"], r["scale"],
              _("不计入正式数字") if not r["counted"] else "", flag_reasons(r["flags"])] for r in flagged]
    return Sheet(_("疑似违规"), [_("时间"), _("窗口"), _("工号"), _("评分 / 疑似违规数"), _("满分 / 满意率（含）"),
                                _("满意率（不含）"), _("原因")], rows)


def comment_sheet(comments: list[dict], by: str) -> Sheet:
    """A report's comments: beside each, the clerk (a window's report) or the window (a clerk's report)."""
    other = _("工号") if by == "staff" else _("窗口")
    return Sheet(_("留言"), [_("时间"), other, _("评分"), _("满分"), _("来源"), _("留言")],
                 [[c["when"], staff_cell(c["staff"], c.get("verified")) if by == "staff" else (c["title"] or c["window"]),
                   c["score"], c["scale"], _("手机") if c["channel"] == "phone" else _("评价器"), c["text"]]
                  for c in comments])


def report_export(stem: str, report: dict, by: str, fmt: str) -> Response:
    """The report's tables as a download: XLSX one sheet each, CSV all of them one after another, each headed by
    its title. `report` has days, daily, breakdown, absences, reasons and comments; `by` is what the breakdown
    lists ("staff" in a window's report, "window" in a clerk's)."""
    days: DayRange = report["days"]
    sheets = [daily_sheet(report["daily"]), breakdown_sheet(report["breakdown"], by, report["summary"]),
              absence_sheet(report["absences"], with_window=by == "window"), reason_sheet(report["reasons"]),
              comment_sheet(report["comments"], by), misuse_sheet(report["summary"]["misuse"], report["flagged"])]
    return export_response(f"{stem}-{days.first.isoformat()}-{days.last.isoformat()}", sheets, fmt)
