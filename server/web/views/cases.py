"""Bad-review follow-up in the web app: the case list and a case's page (viewers read, managers act), the
admin's case rules and the working-day calendar. Every action is a POST with the CSRF token and lands in
the case's audit trail; bad input gets the page again with 400 and the reason."""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server.domain import cases as rules_mod
from server.domain.cases import DEADLINES, VERDICTS, NotAllowed, Rules, bad_levels
from server.domain.figures import BadRange, parse_bounds
from server.domain.workdays import Correction, parse_holiday_file
from server.domain.zones import todays
from server.followup import cases as followup_cases
from server.reporting import verified
from server.web.auth import ROLES, current_user, login_required
from server.web.context import get_store, hall_time, local_today, now_ms, server_tz
from server.web.forms import Invalid
from server.web.names import level_name
from server.web.report_views import range_message, reason_labels, scoped_window_names
from server.web.scope import require_window, visible_sites, visible_windows
from shared.contract import SCALES
from shared.timefmt import local_text, parse_local

log = logging.getLogger(__name__)

bp = Blueprint("cases", __name__)

STATUSES = {"open": _l("未办结"), "overdue": _l("已逾期"), "closed": _l("已办结"), "all": _l("全部")}
VERDICT_LABELS = {"satisfied": _l("满意"), "basically": _l("基本满意"), "unsatisfied": _l("不满意")}
ACTION_LABELS = {"opened": _l("差评生成工单"), "assigned": _l("指派"), "note": _l("备注"), "callback": _l("回访"),
                 "verdict": _l("整改评价"), "closed": _l("办结"), "reopened": _l("重新打开"),
                 "rescheduled": _l("期限重算"), "appeal_filed": _l("提出申诉"), "appeal_upheld": _l("申诉成立"),
                 "appeal_rejected": _l("申诉不成立")}
FILE_MESSAGES = {"fields": _l("每行须为“日期,off 或 work,名称”"), "date": _l("日期须为 YYYY-MM-DD 格式的真实日期"),
                 "kind": _l("类型须为 off（放假）或 work（调休上班）"), "name": _l("名称最长 40 个字"),
                 "twice": _l("同一天出现了两次"), "many": _l("一个文件最多 1000 行")}
MAX_NOTE = 1000
MAX_FILE = 64 * 1024


# ---------------------------------------------------------------- helpers
def _zone_name() -> str:
    return current_app.config["TIMEZONE"]


def _todays() -> dict[str, str]:
    """Today's local date in every zone a case may count in."""
    return todays(current_app.config["CLOCK"].now(), get_store().cases.case_zones(_zone_name()))


def _dress(row: dict, calendar, todays: dict[str, str]) -> dict:
    """A case as the pages show it: times, the rating in words, and how long is left."""
    today = date.fromisoformat(todays.get(row["timezone"]) or todays[_zone_name()])
    due = date.fromisoformat(row["due_date"])
    row["when"] = hall_time(row["opened_at"], "minute")
    row["callback_when"] = hall_time(row["callback_at"], "minute")
    row["closed_when"] = hall_time(row["closed_at"], "minute")
    row["level"] = level_name(row["score"], row["scale"])  # in the reader's language
    row["verdict_label"] = VERDICT_LABELS.get(row["verdict"] or "", "")
    row["overdue"] = bool(row["overdue"])
    if row["status"] != "open":
        row["left"] = ""
    elif due < today:
        row["left"] = _("逾期 %(n)s 天", n=(today - due).days)
    elif due == today:
        row["left"] = _("今天到期")
    else:
        row["left"] = _("剩 %(n)s 个工作日", n=calendar.working_days_between(today + timedelta(days=1), due))
    return row


def _can_act() -> bool:
    user = current_user()
    return bool(user) and ROLES[user["role"]] >= ROLES["manager"]


def _local_ms(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), server_tz()).timestamp() * 1000)


# ---------------------------------------------------------------- the list
@bp.get("/cases")
@login_required()
def index():
    """Cases of the user's windows, filtered; open and overdue counts per window and clerk on top."""
    store = get_store()
    args = request.args
    errors = []
    status = args.get("status", "open")
    if status not in STATUSES:
        errors.append(_("状态须为未办结、已逾期、已办结或全部"))
        status = "open"
    window = args.get("window", "").strip()
    if window:
        require_window(window)
    staff = args.get("staff", "").strip()[:32]
    try:
        first, last = parse_bounds(args.get("from"), args.get("to"), local_today())
    except BadRange as exc:
        errors.append(range_message(exc))
        first = last = None
    start = _local_ms(first) if first else None
    end = _local_ms(last + timedelta(days=1)) if last else None
    windows = scoped_window_names()
    todays = _todays()
    calendar = followup_cases.case_calendar(store)
    rows = [_dress(r, calendar, todays) for r in verified.mark(store, store.cases.cases(
        _zone_name(), todays, windows, status, window, staff, start, end))]
    by_window = store.cases.case_counts("window", _zone_name(), todays, windows, start, end)
    by_staff = store.cases.case_counts("staff", _zone_name(), todays, windows, start, end)
    # a clerk's count adds up cases at several windows: verified only where the number is at every one
    marks = verified.across(store, {r["key"]: r["windows"] for r in by_staff if r["key"]})
    for r in by_staff:
        r["verified"] = marks.get(r["key"]) if r["key"] else None
    totals = {"open": sum(r["open"] for r in by_window), "overdue": sum(r["overdue"] for r in by_window)}
    return render_template("cases.html", rows=rows, by_window=by_window, by_staff=by_staff, totals=totals,
                           statuses=STATUSES, status=status, window=window, staff=staff,
                           first=first.isoformat() if first else "", last=last.isoformat() if last else "",
                           windows=visible_windows(), errors=errors), 400 if errors else 200


# ---------------------------------------------------------------- one case
def _case(case_id: int) -> dict:
    """The case, or 404 when there is none or its window is not the user's to see."""
    row = get_store().cases.case(case_id, _zone_name(), _todays())
    if row is None:
        abort(404, _("工单 %(id)s 不存在", id=case_id))
    sites = visible_sites()
    if sites is not None and row["site"] not in sites:
        abort(404, _("工单 %(id)s 不存在", id=case_id))
    return row


def _assignees(site: str | None) -> list[str]:
    """Active managers and admins who can see the case's window."""
    names = []
    for user in get_store().accounts.users():
        if user["disabled"] or user["role"] not in ("manager", "admin"):
            continue
        sites = json.loads(user["sites"]) if user["sites"] else None
        if user["role"] == "admin" or sites is None or site in sites:
            names.append(user["username"])
    return names


def _render_case(case_id: int, errors: list[str] = (), form: dict | None = None, status: int = 200):
    store = get_store()
    todays = _todays()
    case = _dress(verified.mark(store, [_case(case_id)])[0], followup_cases.case_calendar(store), todays)
    case["reason_labels"] = reason_labels(case["reasons"])
    for comment in case["comments"]:
        comment["when"] = hall_time(comment["at"], "minute")
    trail = []
    for entry in store.cases.case_log(case_id):
        trail.append({**entry, "when": hall_time(entry["at"], "minute"),
                      "label": ACTION_LABELS.get(entry["action"], entry["action"]),
                      "text": _detail(entry["action"], entry["detail"])})
    now_local = local_text(now_ms(), server_tz(), "input")
    return render_template("case.html", case=case, trail=trail, can_act=_can_act(),
                           allowed=rules_mod.allowed(case["status"]), assignees=_assignees(case["site"]),
                           verdicts=VERDICT_LABELS, errors=errors, form=form or {}, now_local=now_local), status


def _detail(action: str, detail: str | None) -> str:
    """An audit-trail entry's detail in words."""
    if detail is None:
        return ""
    if action == "opened":
        d = json.loads(detail)
        return _("%(days)s 个工作日内办结，期限 %(due)s", days=d.get("days"), due=d.get("due"))
    if action == "callback":
        d = json.loads(detail)
        text = _("回访时间 %(when)s", when=hall_time(d.get("at"), "minute"))
        return f"{text}：{d['note']}" if d.get("note") else text
    if action == "verdict":
        return str(VERDICT_LABELS.get(detail, detail))
    if action == "assigned":
        return _("负责人：%(name)s", name=detail)
    if action == "rescheduled":
        d = json.loads(detail)
        return _("节假日安排变更，期限由 %(old)s 改为 %(new)s", old=d.get("from"), new=d.get("to"))
    return detail


@bp.get("/cases/<int:case_id>")
@login_required()
def show(case_id: int):
    return _render_case(case_id)


def _act(case_id: int, step, done: str):
    """Run one workflow step for the logged-in manager: errors re-show the page with 400."""
    _case(case_id)  # 404 for cases out of the user's sites
    user = current_user()["username"]
    try:
        step(get_store(), user, now_ms())
    except Invalid as exc:
        return _render_case(case_id, [str(exc)], request.form, 400)
    except NotAllowed as exc:
        message = (_("请先记录回访和群众对整改的评价，再办结。") if exc.code == "incomplete"
                   else _("工单当前的状态不允许这一操作。"))
        return _render_case(case_id, [message], request.form, 400)
    log.info("case %s: %s by %s", case_id, done, user)
    flash(done)
    return redirect(url_for("cases.show", case_id=case_id))


def _note(name: str, required: bool, label: str) -> str:
    text = request.form.get(name, "").strip()
    if required and not text:
        raise Invalid(_("请填写%(label)s。", label=label))
    if len(text) > MAX_NOTE:
        raise Invalid(_("%(label)s最长 %(n)s 个字。", label=label, n=MAX_NOTE))
    return text


@bp.post("/cases/<int:case_id>/assign")
@login_required("manager")
def assign(case_id: int):
    def step(store, user, now):
        name = request.form.get("assignee", "").strip()
        if name not in _assignees(_case(case_id)["site"]):
            raise Invalid(_("请选择一位能看到这个窗口的管理人员。"))
        followup_cases.assign(store, case_id, name, user, now)
    return _act(case_id, step, _("已指派。"))


@bp.post("/cases/<int:case_id>/note")
@login_required("manager")
def note(case_id: int):
    return _act(case_id, lambda store, user, now: followup_cases.note(store, case_id, _note("note", True, _("备注")), user, now),
                _("已添加备注。"))


@bp.post("/cases/<int:case_id>/callback")
@login_required("manager")
def callback(case_id: int):
    def step(store, user, now):
        value = request.form.get("at", "").strip()
        try:
            at_ms = parse_local(value, server_tz())
        except ValueError:
            raise Invalid(_("回访时间须为 YYYY-MM-DD HH:MM 格式的真实时间。")) from None
        if at_ms > now + 5 * 60 * 1000:
            raise Invalid(_("回访时间不能晚于现在。"))
        if at_ms < _case(case_id)["opened_at"] - 60 * 1000:
            raise Invalid(_("回访时间不能早于差评时间。"))
        followup_cases.callback(store, case_id, at_ms, _note("note", False, _("回访记录")), user, now)
    return _act(case_id, step, _("已记录回访。"))


@bp.post("/cases/<int:case_id>/verdict")
@login_required("manager")
def verdict(case_id: int):
    def step(store, user, now):
        value = request.form.get("verdict", "")
        if value not in VERDICTS:
            raise Invalid(_("请选择群众对整改的评价：满意、基本满意或不满意。"))
        followup_cases.verdict(store, case_id, value, user, now)
    return _act(case_id, step, _("已记录整改评价。"))


@bp.post("/cases/<int:case_id>/close")
@login_required("manager")
def close(case_id: int):
    return _act(case_id, lambda store, user, now: followup_cases.close(store, case_id, user, now), _("工单已办结。"))


@bp.post("/cases/<int:case_id>/reopen")
@login_required("manager")
def reopen(case_id: int):
    return _act(case_id, lambda store, user, now: followup_cases.reopen(store, case_id, user, now), _("工单已重新打开。"))


# ---------------------------------------------------------------- the admin's rules
def _scale_options(scale: int) -> list[tuple[int, str]]:
    return [(k, _("最低 %(k)s 级（%(levels)s）", k=k, levels=_("、").join(level_name(v, scale) for v in range(1, k + 1))))
            for k in range(1, scale)]


def _render_rules(rules: Rules, errors: list[str] = (), status: int = 200):
    return render_template("admin_cases.html", rules=rules, scales=sorted(SCALES, reverse=True),
                           options={s: _scale_options(s) for s in SCALES}, deadlines=DEADLINES,
                           errors=errors), status


@bp.get("/admin/cases")
@login_required("admin")
def admin_rules():
    return _render_rules(followup_cases.case_rules(get_store()))


@bp.post("/admin/cases")
@login_required("admin")
def save_rules():
    store = get_store()
    errors, bad = [], {}
    for scale in SCALES:
        try:
            bad[scale] = bad_levels(scale, int(request.form.get(f"bad_{scale}", "")))
        except ValueError:
            errors.append(_("%(n)s 级评价：差评须为最低的 1 到 %(m)s 级。", n=scale, m=scale - 1))
    days = request.form.get("days", "")
    if not days.isdigit() or int(days) not in DEADLINES:
        errors.append(_("办结期限须为 5、7 或 15 个工作日。"))
    if errors:
        return _render_rules(followup_cases.case_rules(store), errors, 400)
    followup_cases.set_case_rules(store, Rules(bad, int(days)))
    log.info("case rules changed by %s: %s", current_user()["username"], Rules(bad, int(days)).to_json())
    flash(_("已保存。新的规则用于此后的差评，已有工单的期限不变。"))
    return redirect(url_for("cases.admin_rules"))


# ---------------------------------------------------------------- the admin's calendar
MONTHS = [_l("一月"), _l("二月"), _l("三月"), _l("四月"), _l("五月"), _l("六月"), _l("七月"), _l("八月"), _l("九月"),
          _l("十月"), _l("十一月"), _l("十二月")]


YEARS = (2000, 2100)  # the calendar's years


def _year_arg(value: str | None) -> int:
    if not value:
        return current_app.config["CLOCK"].now().astimezone(server_tz()).year
    if not value.isdigit() or not YEARS[0] <= int(value) <= YEARS[1]:
        abort(400, _("年份须为 2000 到 2100 之间的数字"))
    return int(value)


def _calendar_day(text: str) -> date | None:
    """A day of the calendar's years written YYYY-MM-DD, or None."""
    text = text.strip()
    try:
        day = date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        return None
    return day if day and YEARS[0] <= day.year <= YEARS[1] else None


def _holiday_groups(days) -> list[dict]:
    """The named holidays of a year: their days off and their make-up working days."""
    groups: dict[str, dict] = {}
    for d in days:
        if not d.name:
            continue
        name = d.name.removesuffix("调休").strip() or d.name  # an admin's "春节调休" belongs to 春节
        group = groups.setdefault(name, {"name": name, "off": [], "work": []})
        if d.working and d.day.weekday() >= 5:
            group["work"].append(d.day)
        elif not d.working:
            group["off"].append(d.day)
    return list(groups.values())


def _cell_class(d) -> str:
    """How a day looks on the calendar: a holiday off, a make-up working day, an ordinary weekend."""
    weekend = d.day.weekday() >= 5
    css = ("off" if not d.working and (not weekend or d.name) else "work" if d.working and weekend
           else "weekend" if weekend else "")
    return css + " corrected" if d.source == "correction" else css


def _render_holidays(year: int, errors: list[str] = (), form: dict | None = None, status: int = 200):
    store = get_store()
    calendar = followup_cases.case_calendar(store)
    days = calendar.year(year)
    months = [[] for _month in range(12)]
    for d in days:
        months[d.day.month - 1].append({"day": d.day, "name": d.name, "css": _cell_class(d)})
    weeks = []
    for month, month_days in enumerate(months):
        lead = month_days[0]["day"].weekday()
        cells = [None] * lead + month_days
        cells += [None] * (-len(cells) % 7)
        weeks.append({"name": MONTHS[month], "weeks": [cells[i:i + 7] for i in range(0, len(cells), 7)]})
    return render_template("admin_holidays.html", year=year, official=calendar.has_official(year), months=weeks,
                           groups=_holiday_groups(days), corrections=store.cases.corrections(year), errors=errors,
                           form=form or {}), status


def _after_change(year: int, message: str):
    store = get_store()
    moved = followup_cases.reschedule_open_cases(store, current_user()["username"], now_ms())
    flash(message)
    if moved:
        flash(_("%(n)s 个未办结工单的期限已按新的安排重新计算。", n=moved))
    return redirect(url_for("cases.holidays", year=year))


@bp.get("/admin/holidays")
@login_required("admin")
def holidays():
    return _render_holidays(_year_arg(request.args.get("year")))


@bp.post("/admin/holidays")
@login_required("admin")
def add_holiday():
    form = request.form
    year = _year_arg(form.get("year"))
    errors = []
    day = _calendar_day(form.get("day", ""))
    if day is None:
        errors.append(_("日期须为 2000 到 2100 年间 YYYY-MM-DD 格式的真实日期"))
    kind = form.get("kind", "")
    if kind not in ("off", "work"):
        errors.append(_("请选择放假或调休上班。"))
    name = " ".join(form.get("name", "").split())
    if len(name) > 40:
        errors.append(_("名称最长 40 个字"))
    if errors:
        return _render_holidays(year, errors, form, 400)
    get_store().cases.save_corrections([Correction(day, kind, name)])
    return _after_change(day.year, _("已保存 %(day)s。", day=day.isoformat()))


@bp.post("/admin/holidays/remove")
@login_required("admin")
def remove_holiday():
    year = _year_arg(request.form.get("year"))
    day = _calendar_day(request.form.get("day", ""))
    if day is None:
        return _render_holidays(year, [_("日期须为 2000 到 2100 年间 YYYY-MM-DD 格式的真实日期")], status=400)
    if not get_store().cases.remove_correction(day):
        return _render_holidays(year, [_("%(day)s 没有修正记录。", day=day.isoformat())], status=400)
    return _after_change(day.year, _("已删除 %(day)s 的修正，恢复官方安排。", day=day.isoformat()))


@bp.post("/admin/holidays/upload")
@login_required("admin")
def upload_holidays():
    year = _year_arg(request.form.get("year"))
    upload = request.files.get("file")
    data = upload.read(MAX_FILE + 1) if upload else b""
    if not data:
        return _render_holidays(year, [_("请选择一个节假日文件。")], status=400)
    if len(data) > MAX_FILE:
        return _render_holidays(year, [_("文件太大：最多 64 KB。")], status=400)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # a CSV saved by Excel on a Chinese Windows
        except UnicodeDecodeError:
            return _render_holidays(year, [_("无法识别文件的编码：请存为 UTF-8 的 CSV 文件。")], status=400)
    corrections, problems = parse_holiday_file(text)
    errors = [_("第 %(n)s 行：%(what)s", n=n, what=FILE_MESSAGES[code]) for n, code in problems[:20]]
    errors += [_("%(day)s 不在 2000 到 2100 年间", day=c.day.isoformat()) for c in corrections
               if not YEARS[0] <= c.day.year <= YEARS[1]][:20]
    if not corrections and not errors:
        errors.append(_("文件中没有日期。"))
    if errors:
        return _render_holidays(year, [_("文件未导入，请修改后重新上传：")] + errors, status=400)
    get_store().cases.save_corrections(corrections)
    years = sorted({c.day.year for c in corrections})
    return _after_change(year if year in years else years[0],
                         _("已导入 %(n)s 条节假日安排。", n=len(corrections)))

