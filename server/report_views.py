"""What the report pages share: their date range, absence and reason rows, the day and heat tables, formats."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, request, url_for
from flask_babel import gettext as _

from shared.contract import DEFAULT_REASONS

from .exports import Sheet
from .reports import BadRange, DayRange, parse_range
from .scope import visible_sites, visible_windows
from .web_db import local_today, server_tz


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


def range_presets(days: DayRange) -> list[dict]:
    """Quick ranges for the page being shown, as halls count periods (weeks from Monday): each with its label,
    the page's link with only from/to changed, and `here` when it is the range shown."""
    today = local_today()
    month = today.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    last_quarter = (quarter - timedelta(days=1)).replace(day=1)
    last_quarter = last_quarter.replace(month=(last_quarter.month - 1) // 3 * 3 + 1)
    ranges = [(_("今日"), today, today), (_("本周"), today - timedelta(days=today.weekday()), today),
              (_("本月"), month, today), (_("上月"), last_month, month - timedelta(days=1)),
              (_("本季度"), quarter, today), (_("上季度"), last_quarter, quarter - timedelta(days=1)),
              (_("本年"), today.replace(month=1, day=1), today)]
    kept = {k: v for k, v in request.args.items() if k not in ("from", "to")}
    return [{"label": label, "here": (first, last) == (days.first, days.last),
             "url": url_for(request.endpoint, **(request.view_args or {}), **kept, **{"from": first.isoformat(),
                                                                                      "to": last.isoformat()})}
            for label, first, last in ranges]


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
        rows.append({**a, "begun": datetime.fromtimestamp(a["start_at"] / 1000, tz).strftime("%m-%d %H:%M"),
                     "begun_full": _local(a["start_at"]), "ended": _local(a["end_at"]) if a["end_at"] else "",
                     "length_seconds": length // 1000, "minutes": length // 60000, "seconds": length // 1000 % 60,
                     "open": a["end_at"] is None, "over": length > limit_ms})
    return rows


def absence_limit_minutes() -> int:
    return int(current_app.config.get("ABSENCE_LIMIT_MINUTES", 15))


def reason_rows(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    labels = {r["code"]: r["label"] for r in DEFAULT_REASONS}
    return [(labels.get(code, code), n) for code, n in counts]


def comment_rows(rows: list[dict]) -> list[dict]:
    """Comments as the pages and exports show them: with their local time, to the minute."""
    tz = server_tz()
    for row in rows:
        row["when"] = datetime.fromtimestamp(row["at"] / 1000, tz).strftime("%Y-%m-%d %H:%M")
    return rows


def staff_cell(staff: str | None, verified: bool | None) -> str | None:
    """A staff number events carried, as a download shows it: "9999（未核实）" when the roster of its window's
    site does not know it (server/verified.py)."""
    return staff + _("（未核实）") if staff and verified is False else staff


def _local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, server_tz()).strftime("%Y-%m-%d %H:%M:%S")


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
    if seconds is None:
        return "—"
    return _("%(m)s 分 %(s)s 秒", m=int(seconds) // 60, s=int(seconds) % 60)


def minutes(seconds) -> str:
    """Whole minutes, for tight tables."""
    return "—" if seconds is None else _("%(n)s 分钟", n=int(seconds) // 60)  # not "%(n)s 分": that is a score


def data(value) -> str:
    """A figure for a data-* attribute: empty for nothing."""
    return "" if value is None else str(value)


FILTERS = {"pct": pct, "num": num, "signed": signed, "minsec": minsec, "minutes": minutes, "data": data}
