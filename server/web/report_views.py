"""What the report pages share: their date range, absence and reason rows, the day and heat tables, formats."""
from __future__ import annotations

from flask import abort, current_app, g, request, url_for
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from server.domain import durations, periods
from server.domain.figures import BadRange, DayRange, parse_range
from server.reporting.comparison import check_args, compare, sort_rows
from server.reporting.exports import Sheet
from server.store import Store
from server.web.context import get_store, local_today, now_ms, server_tz
from server.web.scope import visible_sites, visible_windows
from shared.contract import DEFAULT_REASONS
from shared.timefmt import local_text


def report_range() -> DayRange:
    """`from`/`to` of a report; this month so far when absent; 400 for bad dates."""
    today = local_today()
    try:
        return parse_range(request.args.get("from") or today.replace(day=1).isoformat(),
                           request.args.get("to") or today.isoformat(), server_tz(), today)
    except BadRange as exc:
        abort(400, range_message(exc))


def range_message(exc: BadRange) -> str:
    """What was wrong with a date, range or month of a request, in the reader's language."""
    values = exc.values
    if exc.reason == "order":
        return _("结束日期不能早于开始日期")
    if exc.reason == "early":
        return _("日期不能早于 %(day)s", day=values["day"])
    if exc.reason == "late":
        return _("日期不能晚于 %(day)s", day=values["day"])
    if exc.reason == "long":
        return _("日期范围最长 %(n)s 年", n=values["years"])
    if exc.reason == "month":
        return _("月份须写成 YYYY-MM，例如 2026-10")
    if exc.reason == "future":
        return _("%(month)s 还没有到", month=values["month"])
    return _("日期须为 YYYY-MM-DD 格式的真实日期")


def last_place(row: dict) -> str | None:
    """本期末位, or 连续两期末位 when the previous period's last place was the same window or clerk's."""
    if not row["last"]:
        return None
    return _("连续两期末位") if row["prev_last"] else _("本期末位")


def scoped_window_names() -> list[str] | None:
    """The ids of the windows the user may see, or None when that is every window."""
    return None if visible_sites() is None else [w["window"] for w in visible_windows()]


PRESET_LABELS = {"today": lazy_gettext("今日"), "week": lazy_gettext("本周"), "month": lazy_gettext("本月"),
                 "last_month": lazy_gettext("上月"), "quarter": lazy_gettext("本季度"),
                 "last_quarter": lazy_gettext("上季度"), "year": lazy_gettext("本年"), "last_year": lazy_gettext("上年")}


def range_presets(days: DayRange) -> list[dict]:
    """Quick ranges for the page being shown, as halls count periods (server/domain/periods.py): each with its label,
    the page's link with only from/to changed, and `here` when it is the range shown."""
    kept = {k: v for k, v in request.args.items() if k not in ("from", "to")}
    return [{"label": PRESET_LABELS[key], "here": (first, last) == (days.first, days.last),
             "url": url_for(request.endpoint, **(request.view_args or {}), **kept, **{"from": first.isoformat(),
                                                                                      "to": last.isoformat()})}
            for key, first, last in periods.presets(local_today())]


def range_args(days: DayRange) -> dict:
    """The range as query arguments, for links."""
    return {"from": days.first.isoformat(), "to": days.last.isoformat()}


def absence_rows(absences: list[dict], now: int) -> list[dict]:
    """Absences as the report lists them: local start, minutes and seconds, open, over the limit."""
    limit_ms = absence_limit_minutes() * 60000
    tz = server_tz()
    rows = []
    for a in absences:
        length = (a["end_at"] if a["end_at"] is not None else now) - a["start_at"]
        rows.append({**a, "begun": local_text(a["start_at"], tz, "day_minute"),
                     "begun_full": local_text(a["start_at"], tz), "ended": local_text(a["end_at"], tz),
                     "length_seconds": length // 1000, "minutes": length // 60000, "seconds": length // 1000 % 60,
                     "open": a["end_at"] is None, "over": length > limit_ms})
    return rows


def absence_limit_minutes() -> int:
    return int(current_app.config.get("ABSENCE_LIMIT_MINUTES", 15))


# The built-in reasons' labels, for the catalog: their English comes from it.
DEFAULT_REASON_LABELS = {"slow": lazy_gettext("办理时间长"), "attitude": lazy_gettext("态度不好"),
                         "skill": lazy_gettext("业务不熟练"), "unclear": lazy_gettext("一次性告知不清"),
                         "wait": lazy_gettext("等候时间长")}


def reason_label(code: str, configured: dict[str, tuple[str, str | None]]) -> str:
    """A reason as the reader reads it: the label any window was configured with for the code (its English
    label on an English page when one was given), else the built-in reason's, else the code itself."""
    english = get_locale() is not None and get_locale().language == "en"
    if code in configured:
        label, label_en = configured[code]
        default = next((r["label"] for r in DEFAULT_REASONS if r["code"] == code), None)
        if english and label_en:
            return label_en
        if label == default:  # a built-in reason kept as it was: the catalog has its English
            return str(DEFAULT_REASON_LABELS[code])
        return label
    return str(DEFAULT_REASON_LABELS[code]) if code in DEFAULT_REASON_LABELS else code


def _configured_reasons() -> dict[str, tuple[str, str | None]]:
    """Every configured reason's labels, read once per request."""
    if "reason_labels" not in g:
        g.reason_labels = get_store().reason_labels.reason_labels()
    return g.reason_labels


def reason_labels(codes: list[str]) -> list[str]:
    """Reason codes (a rating's) as the reader reads them: see `reason_label`."""
    configured = _configured_reasons()
    return [reason_label(code, configured) for code in codes]


def reason_rows(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """(reason code, count) as (label, count): see `reason_label`."""
    configured = _configured_reasons()
    return [(reason_label(code, configured), n) for code, n in counts]


def comment_rows(rows: list[dict]) -> list[dict]:
    """Comments as the pages and exports show them: with their local time, to the minute."""
    tz = server_tz()
    for row in rows:
        row["when"] = local_text(row["at"], tz, "minute")
    return rows


def staff_cell(staff: str | None, verified: bool | None) -> str | None:
    """A staff number events carried, as a download shows it: "9999（未核实）" when the roster of its window's
    site does not know it (server/reporting/verified.py)."""
    return staff + _("（未核实）") if staff and verified is False else staff


# ------------------------------------------------------------ export sheets
def daily_sheet(daily: list[dict]) -> Sheet:
    top = max((int(k) for d in daily for k in d["by_score"]), default=5)
    return Sheet(_("每日"), [_("日期"), _("评价数"), *[_("%(n)s分", n=s) for s in range(top, 0, -1)],
                            _("满意率"), _("满意指数")],
                 [[d["date"], d["total"], *[d["by_score"].get(str(s), 0) for s in range(top, 0, -1)],
                   d["satisfied_rate"], d["index"]] for d in daily])


def absence_sheet(rows: list[dict], with_window: bool = False) -> Sheet:
    headers = [_("开始"), _("结束"), *([_("窗口")] if with_window else []), _("工号"), _("时长（秒）"),
               _("超时")]
    return Sheet(_("离岗记录"), headers,
                 [[a["begun_full"], a["ended"] or _("尚未回岗"), *([a["window"]] if with_window else []),
                   staff_cell(a["staff"], a.get("verified")), a["length_seconds"], _("是") if a["over"] else ""]
                  for a in rows])


def reason_sheet(reasons: list[tuple[str, int]]) -> Sheet:
    return Sheet(_("不满意原因"), [_("原因"), _("次数")], [[label, n] for label, n in reasons])


# ------------------------------------------------------------ template filters
def pct(value) -> str:
    """0.875 -> 87.5%; nothing -> an em dash."""
    return "—" if value is None else f"{value * 100:.1f}%"


def num(value) -> str:
    return "—" if value is None else str(value)


def signed(value, percent: bool = False) -> str:
    """A change: +3, -1.5, +2.0 pt (a change of a share, in percentage points)."""
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:+.1f}"
    return f"{value:+}" if isinstance(value, int) else f"{value:+.1f}"


def minsec(seconds) -> str:
    """One absence, where the seconds matter: "3 分 12 秒" (server/domain/durations.py)."""
    if seconds is None:
        return "—"
    m, sec = durations.minutes_seconds(seconds)
    return _("%(m)s 分 %(s)s 秒", m=m, s=sec)


def minutes(seconds, unit: bool = True) -> str:
    """A report's total or longest time: minutes with one decimal, "9.3 分钟" (server/domain/durations.py); "9.3" in a
    column whose header names the unit."""
    value = durations.minutes(seconds)
    if value is None:
        return "—"
    figure = f"{value:.1f}"
    return _("%(n)s 分钟", n=figure) if unit else figure  # not "%(n)s 分": that is a score


def minutes_change(now_seconds, before_seconds) -> str:
    """The change between two totals in the minutes they show: "+0.9"."""
    value = durations.minutes_change(now_seconds, before_seconds)
    return "—" if value is None else f"{value:+.1f}"


def hours(seconds) -> str:
    """Opening time: hours with one decimal, "7.5 小时"."""
    value = durations.hours(seconds)
    if value is None:
        return "—"
    figure = f"{value:.1f}"
    return _("%(h)s 小时", h=figure)


def interval(bounds) -> str:
    """A satisfied rate's 95% interval (server/domain/ranking.py): [0.959, 0.978] -> 95.9–97.8%; nothing -> an em
    dash."""
    return "—" if not bounds else f"{bounds[0] * 100:.1f}–{bounds[1] * 100:.1f}%"


def data(value) -> str:
    """A figure for a data-* attribute: empty for nothing."""
    return "" if value is None else str(value)


FILTERS = {"pct": pct, "num": num, "signed": signed, "minsec": minsec, "minutes": minutes,
           "minutes_change": minutes_change, "hours": hours, "interval": interval,
           "data": data}


# ------------------------------------------------------------ 三比 for the page and the API
def comparison_args(args) -> tuple[str, str, str]:
    """`by`, `sort`, `order` from a query string; BadArgument (its str() in English, the API's) for bad ones."""
    by, column, order = args.get("by") or "window", args.get("sort") or "rank", args.get("order") or "asc"
    check_args(by, column, order)
    return by, column, order


def comparison(store: Store, by: str, days: DayRange, column: str, order: str, scoped: bool,
               sites: list[str | None] | None = None) -> list[dict]:
    """The rows, for the visible windows (and their sites' roster) when `scoped`, else for all; for the
    windows and roster of `sites` (a site chosen on the page, server/web/listing.py) when given."""
    if sites is not None:
        windows, roster = store.reports.windows(sites), store.reports.roster(sites)
        return sort_rows(compare(store, by, days, now_ms(), windows, roster), by, column, order)
    windows = visible_windows() if scoped and visible_sites() is not None else None
    roster = store.reports.roster(visible_sites() if scoped else None)
    return sort_rows(compare(store, by, days, now_ms(), windows, roster), by, column, order)


# ------------------------------------------------------------ misuse flags (server/domain/misuse.py)
MISUSE_RULES = {"hours": lazy_gettext("非营业时间"), "signin": lazy_gettext("签到后立即评价"),
                "burst": lazy_gettext("集中评价"), "run": lazy_gettext("连续满分过快"),
                "served": lazy_gettext("超出服务人数"), "outlier": lazy_gettext("满分比例异常")}


def flag_reasons(flags: list[tuple[str, str]]) -> str:
    """A flagged rating's reasons as a page or a download shows them: each rule's name, and its detail."""
    return "；".join(f"{MISUSE_RULES.get(rule, rule)}（{detail}）" for rule, detail in flags)
