"""The scheduled reports: a daily and a monthly summary as XLSX, kept in `report_runs` and e-mailed.

The daily report of a day is made after 00:30 of the next day, the monthly report of a month after 01:00 of
the 1st of the next (in the server's time zone). Each pass makes every report due and not yet made, oldest
first, so a server that was down catches up: back to the first day the app knows of, at most
MAX_DAILY_BACK days and MAX_MONTHLY_BACK months. A failed run is retried MAX_MAKE_TRIES times a day; the
e-mail is retried on its own, MAX_MAIL_TRIES times, and its failure never fails the report.
"""
from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.catalogs import texts
from server.domain import hours
from server.domain.figures import DayRange, absence_summary, daily_summaries, rating_summary
from server.domain.periods import add_months, month_end
from server.domain.zones import DEFAULT_ZONE
from server.ops.mailer import Attachment, SmtpSettings, send_mail
from server.reporting.exports import XLSX, Sheet, to_xlsx
from server.reporting.summary import staff_summary, window_summaries
from server.store import Store
from shared.timefmt import DAY_MS, from_ms, to_ms

LANGUAGE = "zh"  # reports are made in the halls' language, whoever asks for one
_ = texts(LANGUAGE)  # Period.parse's messages are msgids: the page shows them in its reader's language

log = logging.getLogger(__name__)

DAILY_AFTER = timedelta(minutes=30)   # past midnight, before the day's report is made
MONTHLY_AFTER = timedelta(hours=1)    # past midnight of the 1st, before the month's report is made
MAX_DAILY_BACK = 31
MAX_MONTHLY_BACK = 12
MAX_MAKE_TRIES = 3                    # a day, for a report that fails to be made
MAX_MAIL_TRIES = 5                    # for its e-mail
RETRY_AFTER_MS = 5 * 60 * 1000        # between two tries of either
STALE_AFTER_MS = 30 * 60 * 1000       # a run `running` that long: its maker died, another may take it over

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_MONTH = re.compile(r"^(\d{4})-(\d{2})\Z")


@dataclass(frozen=True, order=True)
class Period:
    """A report's days: one day (`daily`) or a calendar month (`monthly`)."""
    last: date   # first field: periods sort by their end, so a month comes after its last day
    kind: str
    first: date

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, "daily", day)

    @classmethod
    def month(cls, first: date) -> Period:
        first = first.replace(day=1)
        return cls(month_end(first), "monthly", first)

    @classmethod
    def parse(cls, kind: str, text: str) -> Period:
        """`daily` YYYY-MM-DD or `monthly` YYYY-MM; ValueError with a message for anything else."""
        text = (text or "").strip()
        if kind == "daily":
            try:
                if not _DAY.match(text):
                    raise ValueError
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError(_("日期须写成 YYYY-MM-DD，例如 2026-11-22")) from None
            if day.year < 2000:
                raise ValueError(_("日期须写成 YYYY-MM-DD，例如 2026-11-22"))
            return cls.day(day)
        if kind == "monthly":
            match = _MONTH.match(text)
            if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
                raise ValueError(_("月份须写成 YYYY-MM，例如 2026-10"))
            return cls.month(date(int(match[1]), int(match[2]), 1))
        raise ValueError(_("报表类型须为日报或月报"))

    @property
    def name(self) -> str:
        return self.first.isoformat() if self.kind == "daily" else self.first.strftime("%Y-%m")

    def days(self, tz: ZoneInfo) -> DayRange:
        return DayRange(self.first, self.last, tz)

    def due_at(self, tz: ZoneInfo) -> datetime:
        after = DAILY_AFTER if self.kind == "daily" else MONTHLY_AFTER
        return datetime.combine(self.last + timedelta(days=1), time(), tz) + after


def due_periods(now_local: datetime, first_day: date) -> list[Period]:
    """Every report due at `now_local` (aware, in the server's zone) for the days from `first_day` on,
    within the catch-up bounds, oldest first."""
    out = []
    last_day = (now_local - DAILY_AFTER).date() - timedelta(days=1)
    day = max(first_day, last_day - timedelta(days=MAX_DAILY_BACK - 1))
    while day <= last_day:
        out.append(Period.day(day))
        day += timedelta(days=1)
    last_month = add_months((now_local - MONTHLY_AFTER).date().replace(day=1), -1)
    first_month = first_day.replace(day=1)
    month = last_month
    for _n in range(MAX_MONTHLY_BACK - 1):
        previous = add_months(month, -1)
        if previous < first_month:
            break
        month = previous
    month = max(month, first_month)
    while month <= last_month:
        out.append(Period.month(month))
        month = add_months(month, 1)
    return sorted(out)


# ---------------------------------------------------------------------------- the workbook
def _share_of(summary: dict) -> float | None:
    return (summary.get("staffed") or {}).get("share")


def report_sheets(store: Store, period: Period, tz: ZoneInfo, now_ms: int,
                  sites: list[str] | None = None) -> tuple[list[Sheet], dict]:
    """The report's sheets (summary, one per clerk, and for a month one row per window and day) and the
    hall's totals. Every window's figures are window_summaries', as the API gives them.

    `sites`: only the windows of these sites, and the clerks' work at them (None: every window)."""
    days = period.days(tz)
    windows = store.reports.windows(sites)
    names = [w["window"] for w in windows]
    scope = names if sites is not None else None  # the store's filters: None is every window
    sites = store.reports.site_hours()
    summaries = window_summaries(store, names, days, now_ms, sites)
    top = max([5, *(int(k) for s in summaries.values() for k in s["ratings"]["by_score"])])
    scores = range(top, 0, -1)
    today = from_ms(now_ms, tz).date().isoformat()
    cases = store.report_runs.case_counts_by_window(days.start, days.end, today) if store.report_runs.has_cases() else None
    if cases is not None and scope is not None:
        cases = {w: counts for w, counts in cases.items() if w in scope}

    headers = [_("窗口"), _("名称"), _("大厅"), _("评价数"), *[_("%(n)s分", n=s) for s in scores], _("满意率"),
               _("满意指数"), _("离岗次数"), _("离岗总时长（秒）"), _("在岗率"), _("留言数")]
    if cases is not None:
        headers += [_("本期新增回访件"), _("生成时未结回访件"), _("其中逾期")]

    def line(window, title, site, s, staffed, case):
        r, a = s["ratings"], s["absences"]
        row = [window, title, site, r["total"], *[r["by_score"].get(str(n), 0) for n in scores],
               r["satisfied_rate"], r["index"], a["count"], a["total_seconds"], staffed, s["feedback"]["count"]]
        if cases is not None:
            row += [case.get("opened", 0), case.get("open", 0), case.get("overdue", 0)]
        return row

    summary = Sheet(_("汇总"), headers, [line(w["window"], w["title"], w["site"], summaries[w["window"]],
                                            _share_of(summaries[w["window"]]), (cases or {}).get(w["window"], {}))
                                       for w in windows])
    counts = [(scale, score, n) for _w, scale, score, n in store.reports.rating_counts_of(names, days.start, days.end)]
    spans = [(a, b) for _w, a, b in store.reports.absences_of(names, days.start, days.end)]
    hall = {"ratings": rating_summary(counts), "absences": absence_summary(spans, now_ms),
            "feedback": {"count": sum(s["feedback"]["count"] for s in summaries.values())},
            "staffed": hours.combined_staffed_share([s.get("staffed") for s in summaries.values()])}
    hall_cases = {key: sum(c[key] for c in (cases or {}).values()) for key in ("opened", "open", "overdue")}
    summary.rows.append(line(_("合计"), _("全部 %(n)s 个窗口", n=len(windows)), None, hall, hall["staffed"],
                             hall_cases))
    sheets = [summary]
    if period.kind == "monthly":
        sheets.append(_daily_sheet(store, windows, days, now_ms, sites))
    clerks = store.report_runs.staff_active_in(days.start, days.end, scope)
    sheets += [_clerk_sheet(store, staff, period, days, now_ms, scope) for staff in clerks]
    return sheets, hall


def _daily_sheet(store: Store, windows: list[dict], days: DayRange, now_ms: int, sites) -> Sheet:
    """One row per day and window, each day's figures as the API gives them for that day."""
    names = [w["window"] for w in windows]
    sheet = Sheet(_("每日"), [_("日期"), _("窗口"), _("名称"), _("评价数"), _("满意率"), _("满意指数"), _("离岗次数"),
                            _("离岗总时长（秒）"), _("在岗率"), _("留言数")])
    day = days.first
    while day <= days.last:
        summaries = window_summaries(store, names, DayRange(day, day, days.tz), now_ms, sites)
        for w in windows:
            s = summaries[w["window"]]
            r, a = s["ratings"], s["absences"]
            sheet.rows.append([day.isoformat(), w["window"], w["title"], r["total"], r["satisfied_rate"], r["index"],
                               a["count"], a["total_seconds"], _share_of(s), s["feedback"]["count"]])
        day += timedelta(days=1)
    return sheet


def _clerk_sheet(store: Store, staff: str, period: Period, days: DayRange, now_ms: int,
                 windows: list[str] | None) -> Sheet:
    """A clerk's windows (of `windows`, None: all) and total; for a month also one row per day."""
    s = staff_summary(store, staff, days, now_ms, windows)
    title = f"{staff} {s['name']}" if s["name"] else staff
    sheet = Sheet(title, [_("窗口或日期"), _("名称"), _("评价数"), _("满意率"), _("满意指数"), _("离岗次数"),
                          _("离岗总时长（秒）"), _("留言数")])

    def line(first, name, x):
        r, a = x["ratings"], x["absences"]
        return [first, name, r["total"], r["satisfied_rate"], r["index"], a["count"], a["total_seconds"],
                x["feedback"]["count"] if "feedback" in x else None]

    sheet.rows += [line(w["window"], w["title"], w) for w in s["windows"]]
    sheet.rows.append(line(_("合计"), s["name"] or staff, s))
    if period.kind == "monthly":
        per_day: dict[str, list] = {}
        for a in store.reports.staff_absence_list(staff, days.start, days.end, windows):
            per_day.setdefault(from_ms(a["start_at"], days.tz).date().isoformat(), []).append(
                (a["start_at"], a["end_at"]))
        for d in daily_summaries(store.reports.staff_rating_counts_by_quarter_hour(staff, days.start, days.end, windows),
                                 days):
            sheet.rows.append(line(d["date"], None, {"ratings": d,
                                                     "absences": absence_summary(per_day.get(d["date"], []), now_ms)}))
    return sheet


def report_file(store: Store, period: Period, tz: ZoneInfo, now_ms: int,
                sites: list[str] | None = None) -> tuple[bytes, dict]:
    """The XLSX and the hall's totals (for the e-mail's text); `sites` as for report_sheets."""
    sheets, hall = report_sheets(store, period, tz, now_ms, sites)
    return to_xlsx(sheets), hall


# ---------------------------------------------------------------------------- making and mailing runs
Maker = Callable[[Store, Period, ZoneInfo, int], tuple[bytes, dict]]


class ReportTask:
    """The jobs thread's task (server/jobs.py `Task`): each pass makes what is due and mails what is unsent."""
    name = "reports"
    interval = 60.0

    def __init__(self, tz: ZoneInfo, smtp: SmtpSettings | None, make: Maker = report_file):
        self.tz, self.smtp, self.make = tz, smtp, make

    @classmethod
    def from_config(cls, config) -> ReportTask:
        """From the web app's config: TIMEZONE and the SMTP_* settings (server/ops/mailer.py)."""
        return cls(ZoneInfo(config.get("TIMEZONE", DEFAULT_ZONE)), SmtpSettings.from_config(config))

    def run(self, store: Store, now: datetime) -> None:
        now_ms = to_ms(now)
        first = store.report_runs.first_known_at()
        if first is not None:
            for period in due_periods(now.astimezone(self.tz), from_ms(first, self.tz).date()):
                self._make_if_due(store, period, now_ms)
        for run in store.report_runs.report_runs_to_mail():
            self._mail(store, run, now_ms)

    def make_now(self, store: Store, period: Period, now: datetime, mail: bool = True) -> dict | None:
        """(Re)make a report at once (the admin's "run now"); None while another pass is making it."""
        now_ms = to_ms(now)
        run_id = store.report_runs.claim_report_run(period.kind, period.name, now_ms, now_ms - STALE_AFTER_MS, remake=True)
        if run_id is None:
            return None
        self._make(store, run_id, period, now_ms, mail)
        return store.report_runs.report_run_by_id(run_id)

    def _make_if_due(self, store: Store, period: Period, now_ms: int) -> None:
        run = store.report_runs.report_run(period.kind, period.name)
        if run is not None:
            if run["status"] == "done":
                return
            key = _make_key(period)
            if run["status"] == "failed" and (store.accounts.attempts(key, now_ms - DAY_MS) >= MAX_MAKE_TRIES
                                              or store.accounts.attempts(key, now_ms - RETRY_AFTER_MS + 1) > 0):
                return
        run_id = store.report_runs.claim_report_run(period.kind, period.name, now_ms, now_ms - STALE_AFTER_MS)
        if run_id is not None:
            self._make(store, run_id, period, now_ms, True)

    def _make(self, store: Store, run_id: int, period: Period, now_ms: int, mail: bool) -> None:
        try:
            content, hall = self.make(store, period, self.tz, now_ms)
        except Exception as exc:  # recorded on the run and retried later; the next reports go on
            log.exception("the %s report of %s failed", period.kind, period.name)
            if store.db.conn.in_transaction:
                store.db.conn.rollback()
            store.report_runs.fail_report_run(run_id, now_ms, f"{type(exc).__name__}: {exc}"[:500])
            store.accounts.record_attempt(_make_key(period), now_ms)
            return
        store.report_runs.finish_report_run(run_id, now_ms, content)
        store.accounts.clear_attempts(_make_key(period))
        store.accounts.clear_attempts(f"report-mail:{run_id}")  # a file made anew gets its e-mail's tries anew
        log.info("made the %s report of %s (%d bytes)", period.kind, period.name, len(content))
        if mail:
            self._mail(store, store.report_runs.report_run_by_id(run_id), now_ms, hall)
        else:
            store.report_runs.record_report_mail(run_id, "", _("生成时选择了不发送邮件"))

    def _mail(self, store: Store, run: dict, now_ms: int, hall: dict | None = None) -> None:
        recipients = recipients_of(store)
        if not recipients:
            store.report_runs.record_report_mail(run["id"], "", _("没有设置收件人"))
            return
        if self.smtp is None:
            store.report_runs.record_report_mail(run["id"], "", _("没有配置 SMTP 服务器"))
            return
        key = f"report-mail:{run['id']}"
        if not store.report_runs.claim_report_mail(run["id"], key, now_ms, now_ms - RETRY_AFTER_MS + 1):
            return
        period = Period.parse(run["kind"], run["period"])
        content = store.report_runs.report_run_content(run["id"])
        try:
            send_mail(self.smtp, recipients, mail_subject(period), mail_body(period, hall),
                      [Attachment(f"{period.kind}-{period.name}.xlsx", content, XLSX)])
        except (OSError, smtplib.SMTPException) as exc:
            tries = store.accounts.attempts(key, now_ms - DAY_MS)
            log.warning("the %s report of %s was not e-mailed (try %d): %s", period.kind, period.name, tries, exc)
            error = _("邮件发送失败（第 %(n)s 次）：%(error)s", n=tries, error=str(exc) or type(exc).__name__)[:500]
            store.report_runs.record_report_mail(run["id"], "" if tries >= MAX_MAIL_TRIES else None, error)
            return
        store.report_runs.record_report_mail(run["id"], ", ".join(recipients), None)
        store.accounts.clear_attempts(key)


def _make_key(period: Period) -> str:
    return f"report-make:{period.kind}:{period.name}"


def recipients_of(store: Store) -> list[str]:
    value = store.settings.setting("reports", {})
    recipients = value.get("recipients") if isinstance(value, dict) else None
    return [r for r in recipients if isinstance(r, str) and r] if isinstance(recipients, list) else []


def mail_subject(period: Period) -> str:
    if period.kind == "daily":
        return _("窗口服务评价日报 %(period)s", period=period.name)
    return _("窗口服务评价月报 %(period)s", period=period.name)


def mail_body(period: Period, hall: dict | None) -> str:
    lines = [mail_subject(period), ""]
    if hall is not None:
        r = hall["ratings"]
        lines.append(_("评价 %(n)s 条", n=r["total"]))
        if r["total"]:
            lines.append(_("满意率 %(rate)s%%，满意指数 %(index)s", rate=round(r["satisfied_rate"] * 100, 1),
                           index=r["index"]))
        lines.append(_("离岗 %(n)s 次", n=hall["absences"]["count"]))
        lines.append("")
    lines.append(_("详见附件。"))
    return "\n".join(lines)
