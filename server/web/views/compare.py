"""The comparison page (三比) and its downloads: windows or clerks side by side, each beside its previous period.
Sorting is the query string's (`sort`, `order`), so a header click is a plain link."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from server.reporting.comparison import (
    BadArgument,
    cell,
    metrics,
    previous_period,
    year_before,
)
from server.reporting.exports import Sheet
from server.web.auth import login_required
from server.web.context import get_store
from server.web.downloads import export_response
from server.web.listing import paging, site_choice
from server.web.report_views import comparison, comparison_args, last_place, range_args, report_range, staff_cell

bp = Blueprint("compare", __name__)

LABELS = {"total": lazy_gettext("评价数"), "satisfied_rate": lazy_gettext("满意率"),
          "index": lazy_gettext("满意指数"), "absences": lazy_gettext("离岗次数"),
          "absent_seconds": lazy_gettext("离岗时长"), "staffed": lazy_gettext("在岗率")}
SHARES = ("satisfied_rate", "staffed")
AGAINST = ("previous", "year", "both")  # the page's `vs`: the previous period, the same period a year before, both


def argument_message(exc: BadArgument) -> str:
    """What was wrong with the page's query string, in the reader's language."""
    if exc.field == "by":
        return _("by 须为 window 或 staff")
    if exc.field == "sort":
        return _("不能按“%(column)s”排序", column=exc.value)
    return _("order 须为 asc 或 desc")


def _page_data(download: bool = False) -> dict:
    """The page's rows: a city's site first (`?site=`, or `_all` for its whole ranking a page at a time); a
    download without `site` has every window the user sees, as before."""
    choice = site_choice(all_allowed=True) if download else site_choice(all_offered=True)
    days = report_range()
    try:
        by, column, order = comparison_args(request.args)
    except BadArgument as exc:
        abort(400, argument_message(exc))
    against = request.args.get("vs") or AGAINST[0]
    if against not in AGAINST:
        abort(400, _("vs 须为 previous、year 或 both"))
    rows = comparison(get_store(), by, days, column, order, scoped=True, sites=choice.sites)
    pages = None if download else paging(len(rows))
    return {"rows": rows if download else pages.cut(rows), "choice": choice, "paging": pages, "days": days,
            "before": previous_period(days), "year": year_before(days), "by": by,
            "min_sample": get_store().settings.min_sample(), "sort": column, "order": order, "vs": against,
            "metrics": metrics(by), "range_args": range_args(days)}


@bp.get("/compare")
@login_required()
def page():
    data = _page_data()

    def sort_link(column: str) -> str:
        if column == data["sort"]:
            order = "desc" if data["order"] == "asc" else "asc"
        else:
            order = "asc" if column in ("rank", "key", "name") else "desc"
        return _url(data, sort=column, order=order)

    return render_template("compare.html", **data, labels=LABELS, shares=SHARES, sort_link=sort_link,
                           last_place=last_place,
                           by_link=lambda by: _url(data, by=by, sort="rank", order="asc"),
                           vs_link=lambda against: _url(data, vs=against),
                           export_link=lambda fmt: _url(data, endpoint="compare.export", fmt=fmt))


def _url(data: dict, endpoint: str = "compare.page", **changes) -> str:
    args = {"by": data["by"], "sort": data["sort"], "order": data["order"], "vs": data["vs"], **data["range_args"],
            **data["choice"].kept, **changes}
    if args["vs"] == AGAINST[0]:  # the default stays out of links
        del args["vs"]
    return url_for(endpoint, **args)


def _place(row: dict):
    """The rank, or 样本不足 for a row with ratings too few to be ranked (server/domain/ranking.py)."""
    return row["rank"] if row["ranked"] or not row["current"]["total"] else _("样本不足")


@bp.get("/compare.<any(csv, xlsx):fmt>")
@login_required()
def export(fmt: str):
    data = _page_data(download=True)
    by = data["by"]
    name = _("窗口") if by == "window" else _("工号")
    headers = [_("排名"), name, _("名称")]
    for m in data["metrics"]:
        label = _("离岗时长（秒）") if m == "absent_seconds" else str(LABELS[m])
        headers += [label, _("%(figure)s（上期）", figure=label), _("%(figure)s（变化）", figure=label),
                    _("%(figure)s（去年同期）", figure=label), _("%(figure)s（同比变化）", figure=label)]
    headers += [_("满意率下限（95％ 置信）"), _("满意率上限（95％ 置信）"), _("上期排名"), _("末位")]
    rows = [[_place(row), row[by] if by == "window" else staff_cell(row[by], row["verified"]), cell(row, by, "name"),
             *[v for m in data["metrics"] for v in (row["current"][m], row["previous"][m], row["change"][m],
                                                    row["year_before"][m], row["change_year"][m])],
             *(row["current"]["satisfied_interval"] or (None, None)), row["prev_rank"], last_place(row)]
            for row in data["rows"]]
    days = data["days"]
    return export_response(f"compare-{by}-{days.first.isoformat()}-{days.last.isoformat()}",
                           [Sheet(_("三比"), headers, rows)], fmt)
