"""The registry pages: sites (halls) with opening hours, windows, kiosks confirmed and assigned, the clerk roster.

Sites and devices are the admin's; windows and clerks are also a manager's, for their own sites only
(server/web/scope.py). Every change is a POST with the CSRF token; bad input re-shows the form with 400.
"""
from __future__ import annotations

import logging
import sqlite3
from zoneinfo import ZoneInfo, available_timezones

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server.domain import hours
from server.domain.registry import MAX_NAME, MAX_TITLE, SITE_PATTERN
from server.domain.zones import COMMON_ZONES, DEFAULT_ZONE
from server.store.ingest import REJECTS_KEPT
from server.store.settings import MAX_DEVICE_RATE
from server.store.window_removal import WindowRefused
from server.web.auth import current_user, login_required
from server.web.context import get_store, hall_time, now_ms
from server.web.forms import Invalid, chosen_clerk, collect, text
from server.web.listing import NO_SITE, page_size, paging, site_choice
from server.web.scope import require_window, visible_sites
from shared.contract import STAFF_PATTERN, WINDOW_PATTERN
from shared.pins import PIN_MAX, PIN_MIN, PIN_PATTERN, hash_pin
from shared.signing import fingerprint, read_fingerprint, shown_fingerprint

log = logging.getLogger(__name__)

bp = Blueprint("registry", __name__, url_prefix="/admin")

WEEKDAYS = ((1, _l("星期一")), (2, _l("星期二")), (3, _l("星期三")), (4, _l("星期四")), (5, _l("星期五")),
            (6, _l("星期六")), (7, _l("星期日")))
SHORT_DAYS = {1: _l("周一"), 2: _l("周二"), 3: _l("周三"), 4: _l("周四"), 5: _l("周五"), 6: _l("周六"), 7: _l("周日")}


# ---------------------------------------------------------------- sites
def hours_summary(week: hours.Week) -> str:
    """{1..5: 9-17, 6: 9-12} -> "周一至周五 09:00-17:00；周六 09:00-12:00"; no hours -> 未设置."""
    if not week:
        return _("未设置")
    parts, day = [], 1
    while day <= 7:
        spans = week.get(day, [])
        last = day
        while last < 7 and week.get(last + 1, []) == spans:
            last += 1
        if spans:
            days = str(SHORT_DAYS[day]) if last == day else _("%(a)s至%(b)s", a=SHORT_DAYS[day], b=SHORT_DAYS[last])
            parts.append(f"{days} {hours.format_day(spans)}")
        day = last + 1
    return "；".join(parts)


def _site_form(site: dict | None) -> dict:
    """The edit form's fields from a stored site (or a new site's defaults)."""
    if site is None:
        return {"timezone": DEFAULT_ZONE}
    week = hours.loads(site["hours"])
    form = {"site": site["site"], "name": site["name"], "timezone": site["timezone"],
            "public": "1" if site["public"] else ""}
    form.update({f"hours_{day}": hours.format_day(week.get(day, [])) for day, _label in WEEKDAYS})
    return form


def _timezone() -> str:
    value = request.form.get("timezone", "").strip()
    if value not in available_timezones():
        raise Invalid(_("时区“%(tz)s”不存在，请填写如 Asia/Shanghai 的时区名。", tz=value[:64]))
    ZoneInfo(value)
    return value


def _week() -> hours.Week:
    week, errors = {}, []
    for day, label in WEEKDAYS:
        try:
            spans = hours.parse_day(request.form.get(f"hours_{day}", "")[:200])
        except hours.HoursError as exc:
            errors.append(_("%(day)s：%(error)s", day=label, error=exc.translated(_)))
            continue
        if spans:
            week[day] = spans
    if errors:
        raise Invalid(*errors)
    return week


def _render_sites(editing: dict | None = None, form: dict | None = None, errors: list[str] = (), status: int = 200):
    rows = get_store().registry.sites()
    for row in rows:
        row["hours_text"] = hours_summary(hours.loads(row["hours"]))
    return render_template("admin_sites.html", sites=rows, editing=editing, form=form or _site_form(editing),
                           errors=errors, weekdays=WEEKDAYS, zones=COMMON_ZONES), status


@bp.get("/sites")
@login_required("admin")
def sites():
    return _render_sites()


@bp.post("/sites")
@login_required("admin")
def add_site():
    store = get_store()

    def site_id():
        value = request.form.get("site", "").strip()
        if not SITE_PATTERN.match(value):
            raise Invalid(_("大厅编号须为 1 到 32 个小写字母、数字或连字符，如 hq、east-2。"))
        if store.registry.site(value):
            raise Invalid(_("大厅编号 %(site)s 已存在。", site=value))
        return value

    (site, name, tz, week), errors = collect(site_id, lambda: text("name", _("大厅名称"), MAX_NAME),
                                              _timezone, _week)
    if not errors:
        try:
            store.registry.create_site(site, name, tz, hours.dumps(week), request.form.get("public") == "1")
        except sqlite3.IntegrityError:
            errors.append(_("大厅编号 %(site)s 已存在。", site=site))
    if errors:
        return _render_sites(form=request.form, errors=errors, status=400)
    log.info("site %s added", site)
    flash(_("已添加大厅 %(name)s。", name=name))
    return redirect(url_for("registry.sites"))


@bp.get("/sites/<site>")
@login_required("admin")
def edit_site(site: str):
    row = get_store().registry.site(site)
    if row is None:
        abort(404, _("大厅 %(site)s 不存在", site=site))
    return _render_sites(editing=row)


@bp.post("/sites/<site>")
@login_required("admin")
def save_site(site: str):
    store = get_store()
    row = store.registry.site(site)
    if row is None:
        abort(404, _("大厅 %(site)s 不存在", site=site))
    (name, tz, week), errors = collect(lambda: text("name", _("大厅名称"), MAX_NAME), _timezone, _week)
    if errors:
        return _render_sites(editing=row, form={**request.form, "site": site}, errors=errors, status=400)
    store.registry.update_site(site, name, tz, hours.dumps(week), request.form.get("public") == "1")
    log.info("site %s changed", site)
    flash(_("已保存大厅 %(name)s。", name=name))
    return redirect(url_for("registry.sites"))


# ---------------------------------------------------------------- choosing a site the user may manage
def _site_choices() -> list[dict]:
    return get_store().registry.sites(visible_sites())


def _chosen_site(choices: list[dict]) -> str | None:
    """The form's `site`: one of the user's sites; none only for a user who sees every site."""
    value = request.form.get("site", "").strip()
    if not value:
        if visible_sites() is not None:
            raise Invalid(_("请选择大厅。"))
        return None
    if value not in {c["site"] for c in choices}:
        raise Invalid(_("大厅 %(site)s 不存在或不在您的管辖范围内。", site=value[:32]))
    return value


# ---------------------------------------------------------------- windows
def _render_windows(form: dict | None = None, errors: list[str] = (), status: int = 200, failed: str = "",
                    row_form: dict | None = None):
    """The window list, site first and a page at a time (server/web/listing.py); `failed` names a row whose
    change was refused, shown with `row_form`'s values. Each row offers the active clerks of its site, drawn
    once per site on the page."""
    store = get_store()
    sites = visible_sites()
    admin = current_user()["role"] == "admin"  # removes and merges windows, and reads the log of it
    choice = site_choice()
    pages = paging(store.reports.window_count(choice.sites))
    rows = store.reports.windows(choice.sites, pages.size, pages.offset)
    # the clerks a row may be given: of every site when they fit on a page, else of the sites on this one
    few = store.registry.clerk_count(sites, active=True) <= pages.size
    clerks = store.registry.clerks(sites if few else list({w["site"] for w in rows}), active=True) if rows else []
    choices = _site_choices()
    return render_template("admin_windows.html", windows=rows, sites=choices,
                           site_names={s["site"]: s["name"] for s in choices}, clerks=clerks,
                           unscoped=sites is None, form=form or {}, errors=errors, failed=failed,
                           row_form=row_form or {}, admin=admin, choice=choice, paging=pages,
                           here=_listing_args(), window_log=_window_log() if admin else []), status


def _listing_args(names: tuple[str, ...] = ("site", "page")) -> dict:
    """The site and page shown, for a form's action to come back to."""
    return {k: v for k, v in request.args.items() if k in names and v}


def _window_log() -> list[dict]:
    """The latest removals and merges, for the Windows page."""
    return [{**e, "when": hall_time(e["at"], "minute"),
             "moved_text": _holdings_text(e["details"].get("moved") or {})}
            for e in get_store().admin_log.admin_log(WINDOW_LOG, limit=20)]


@bp.get("/windows")
@login_required("manager")
def windows():
    return _render_windows()


@bp.post("/windows")
@login_required("manager")
def add_window():
    store = get_store()
    choices = _site_choices()

    def window_id():
        value = request.form.get("window", "").strip()
        if not WINDOW_PATTERN.match(value):
            raise Invalid(_("窗口编号须为小写字母或数字开头、最长 32 个字符（小写字母、数字、连字符），如 w03。"))
        if store.reports.window(value):
            raise Invalid(_("窗口 %(window)s 已存在。", window=value))
        return value

    (window, title, site), errors = collect(window_id, lambda: text("title", _("窗口名称"), MAX_TITLE, False),
                                             lambda: _chosen_site(choices))
    if not errors:
        try:
            store.registry.create_window(window, title, site)
        except sqlite3.IntegrityError:
            errors.append(_("窗口 %(window)s 已存在。", window=window))
    if errors:
        return _render_windows(form=request.form, errors=errors, status=400)
    log.info("window %s added at site %s", window, site)
    flash(_("已添加窗口 %(window)s。", window=window))
    big = store.reports.window_count(visible_sites()) > page_size()  # the new window's site, if sites come first
    return redirect(url_for("registry.windows", **({"site": site or NO_SITE} if big else {})))


@bp.post("/windows/<window>")
@login_required("manager")
def save_window(window: str):
    require_window(window)  # 404 outside the user's sites
    choices = _site_choices()
    (title, site), errors = collect(lambda: text("title", _("窗口名称"), MAX_TITLE), lambda: _chosen_site(choices))
    clerk = chosen_clerk(site) if not errors else None
    if isinstance(clerk, Invalid):
        errors.extend(clerk.args)
    if errors:
        return _render_windows(errors=[f"{window}：{e}" for e in errors], status=400, failed=window,
                               row_form=request.form)
    get_store().registry.update_window(window, title, site, clerk)
    log.info("window %s: title %r, site %s, clerk %s", window, title, site, clerk)
    flash(_("已保存窗口 %(window)s。", window=window))
    return redirect(url_for("registry.windows", **_listing_args()))


# ---------------------------------------------------------------- removing or merging a window (admins)
HOLDINGS = {"events": _l("事件"), "ratings": _l("评价数"), "excluded_ratings": _l("申诉成立的评价"), "feedback": _l("留言"),
            "absences": _l("离岗记录"), "cases": _l("差评工单"), "appeals": _l("申诉"), "invites": _l("评价邀请")}
WINDOW_LOG = ("window_removed", "window_merged")


def _holdings_text(held: dict[str, int]) -> str:
    return _("、").join(f"{HOLDINGS.get(table, table)} {n}" for table, n in held.items())


def _refusal(exc: WindowRefused) -> str:
    v = exc.values
    if exc.reason == "kiosk":
        return _("窗口 %(window)s 有已确认的评价器 %(device)s：请先在设备登记中把它分配到别的窗口。",
                 window=v["window"], device=v["device"])
    if exc.reason == "data":
        return _("窗口 %(window)s 下已有数据（%(held)s），不能删除：请把它合并到另一个窗口。",
                 window=v["window"], held=_holdings_text(v["held"]))
    if exc.reason == "sites":
        return _("窗口 %(window)s 属于大厅 %(site)s，不能并入其他大厅的窗口 %(into)s。",
                 window=v["window"], site=v["site"], into=v["into"])
    if exc.reason == "same":
        return _("不能把窗口并入它自己。")
    return _("窗口 %(window)s 不存在", window=v["window"][:32])


def _render_removal(window: str, errors: list[str] = (), status: int = 200):
    """The second step of removing or merging a window: what is stored under it, and the two forms."""
    row = require_window(window)
    store = get_store()
    targets = [w for w in store.reports.windows() if w["window"] != window and (row["site"] is None or w["site"] == row["site"])]
    return render_template("admin_window_remove.html", window=row, held=store.window_removal.window_holdings(window),
                           holdings=HOLDINGS, kiosk=store.invites.window_kiosk(window), targets=targets,
                           errors=errors), status


def _confirmed(window: str) -> str | None:
    """The refusal when the form's `confirm` is not the window's id typed again."""
    if request.form.get("confirm", "").strip() != window:
        return _("请在确认框中输入窗口编号 %(window)s。", window=window)
    return None


@bp.get("/windows/<window>/remove")
@login_required("admin")
def removal(window: str):
    return _render_removal(window)


@bp.post("/windows/<window>/remove")
@login_required("admin")
def remove_window(window: str):
    """Delete a window nothing is stored under, with an entry in the admin log."""
    require_window(window)
    refused = _confirmed(window)
    if refused:
        return _render_removal(window, [refused], 400)
    user = current_user()["username"]
    try:
        get_store().window_removal.remove_window(window, user, now_ms())
    except WindowRefused as exc:
        return _render_removal(window, [_refusal(exc)], 409)
    log.info("window %s removed by %s", window, user)
    flash(_("已删除窗口 %(window)s。", window=window))
    return redirect(url_for("registry.windows"))


@bp.post("/windows/<window>/merge")
@login_required("admin")
def merge_window(window: str):
    """Move everything stored under a window to another and delete it, with an entry in the admin log."""
    require_window(window)
    into = request.form.get("into", "").strip()
    errors = [e for e in (_confirmed(window), None if into else _("请选择要并入的窗口。")) if e]
    if errors:
        return _render_removal(window, errors, 400)
    user = current_user()["username"]
    try:
        moved = get_store().window_removal.merge_window(window, into, user, now_ms())
    except WindowRefused as exc:
        return _render_removal(window, [_refusal(exc)], 400 if exc.reason in ("missing", "same") else 409)
    log.info("window %s merged into %s by %s: %s", window, into, user, moved)
    flash(_("已把窗口 %(window)s 并入 %(into)s（%(moved)s）。", window=window, into=into,
            moved=_holdings_text(moved) or _("没有数据")))
    return redirect(url_for("registry.windows"))


# ---------------------------------------------------------------- devices
def _render_devices(errors: list[str] = (), status: int = 200, rate: str | None = None):
    """The devices with their newest rejected messages (why each was refused), their health (a full outbox,
    ignored acks), and the event quota. Kiosks waiting for confirmation first, a page at a time (`waiting`);
    then the confirmed ones of the site chosen (server/web/listing.py), a page at a time (`page`). The window a
    kiosk goes to is typed or picked from the site's windows (one list for the page)."""
    store = get_store()
    choice = site_choice()
    waiting = paging(store.registry.device_count(confirmed=False), "waiting")
    confirmed = paging(store.registry.device_count(choice.sites, confirmed=True))
    rows = (store.registry.devices(confirmed=False, limit=waiting.size, offset=waiting.offset)
            + store.registry.devices(choice.sites, confirmed=True, limit=confirmed.size, offset=confirmed.offset))
    rejects = store.ingest.device_rejects(REJECTS_SHOWN, [row["device"] for row in rows])
    for row in rows:  # a kiosk registered but never heard from was never seen, whatever its registration time
        row["last_seen_local"] = hall_time(row["last_seen"], "minute") if row["heard"] else _("从未")
        for key, shown in (("storage_since", "storage_since_local"), ("ignored_ack_at", "ignored_ack_local")):
            row[shown] = hall_time(row[key], "minute", none="—")
        row["rejects"] = [{**r, "when": hall_time(r["received_at"])} for r in rejects.get(row["device"], [])]
        row["fingerprint"] = fingerprint(row["key"]) if row["key"] else None
        row["fingerprint_shown"] = shown_fingerprint(row["fingerprint"]) if row["fingerprint"] else ""
        row["pinned_shown"] = shown_fingerprint(row["pinned"]) if row["pinned"] else ""
    return render_template("admin_devices.html", unconfirmed=[r for r in rows if not r["confirmed"]],
                           confirmed=[r for r in rows if r["confirmed"]], windows=store.reports.windows(choice.sites),
                           any_window=store.reports.window_count() > 0, choice=choice, waiting=waiting,
                           paging=confirmed, here=_listing_args(("site", "page", "waiting")),
                           errors=errors, rate=store.settings.device_rate() if rate is None else rate, rejects_shown=REJECTS_SHOWN,
                           max_rate=MAX_DEVICE_RATE, rejects_kept=REJECTS_KEPT), status


REJECTS_SHOWN = 5  # per device, newest first; every one is counted


@bp.get("/devices")
@login_required("admin")
def devices():
    return _render_devices()


@bp.post("/device-quota")
@login_required("admin")
def set_device_quota():
    """The most new events a kiosk may send per minute of its clock (server/domain/quota.py)."""
    text = request.form.get("rate", "").strip()[:16]
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_DEVICE_RATE):
        return _render_devices([_("每分钟事件上限应为 1 到 %(max)s 之间的整数。", max=MAX_DEVICE_RATE)], 400, text)
    get_store().settings.set_device_rate(int(text))
    log.info("event quota set to %s per device and minute by %s", text, current_user()["username"])
    flash(_("已将每台评价器每分钟的事件上限设为 %(n)s 条。", n=int(text)))
    return redirect(url_for("registry.devices"))


@bp.post("/devices/<device>")
@login_required("admin")
def assign_device(device: str):
    """Confirm a kiosk and put it at a window (or move it): its past ratings stay where they were given."""
    store = get_store()
    row = store.registry.device(device)
    if row is None:
        abort(404, _("设备 %(device)s 不存在", device=device))
    window = request.form.get("window", "").strip() or None
    if window is None and row["confirmed"] and not request.form.get("pin"):
        return _render_devices([_("%(device)s：请选择要分配的窗口。", device=device)], 400)
    if window is not None and store.reports.window(window) is None:
        return _render_devices([_("%(device)s：窗口 %(window)s 不存在，请先在窗口管理中添加。",
                                  device=device, window=window[:32])], 400)
    try:
        pin = read_fingerprint(request.form["pin"]) if request.form.get("pin") else None
    except ValueError:
        return _render_devices([_("%(device)s：密钥指纹应为 64 位十六进制数字。", device=device)], 400)
    now = now_ms()
    with store.db.atomic():
        if window is not None or not row["confirmed"]:  # else only its key is pinned
            store.registry.assign_device(device, window, now)
        if pin is not None and store.keys.pin(device, pin, current_user()["username"], now):
            log.info("device %s: key %s pinned by %s", device, pin, current_user()["username"])
            flash(_("设备 %(device)s 的签名密钥已锁定：此后只接收用它签名的事件。", device=device))
    back = url_for("registry.devices", **_listing_args(("site", "page", "waiting")))
    if window is None and row["confirmed"]:
        return redirect(back)
    log.info("device %s confirmed%s", device, f", at window {window}" if window else "")
    if window:
        flash(_("设备 %(device)s 已确认，分配到窗口 %(window)s。", device=device, window=window))
    else:
        flash(_("设备 %(device)s 已确认。", device=device))
    return redirect(back)


# ---------------------------------------------------------------- the clerk roster
def _clerk_in_scope(staff: str) -> dict:
    row = get_store().registry.clerk(staff)
    sites = visible_sites()
    if row is None or (sites is not None and row["site"] not in sites):
        abort(404, _("工号 %(staff)s 不存在", staff=staff))
    return row


def _pin(name: str = "pin", required: bool = True) -> str | None:
    pin = request.form.get(name, "")
    if not pin and not required:
        return None
    if not PIN_PATTERN.match(pin):
        raise Invalid(_("PIN 码须为 %(low)s 到 %(high)s 位数字。", low=PIN_MIN, high=PIN_MAX))
    return hash_pin(pin)


def _render_staff(editing: dict | None = None, form: dict | None = None, errors: list[str] = (),
                  status: int = 200):
    """The roster, site first and a page at a time (server/web/listing.py); a clerk being edited is shown
    among their site's."""
    if form is None:
        form = dict(editing) if editing else {}
    store = get_store()
    sites = visible_sites()
    choice = site_choice(all_allowed=store.registry.clerk_count(sites) <= page_size(),
                         site=(editing["site"] or "") if editing else None)
    pages = paging(store.registry.clerk_count(choice.sites))
    roster = store.registry.clerks(choice.sites, pages.size, pages.offset)
    return render_template("admin_staff.html", roster=roster, choice=choice, paging=pages,
                           sites=_site_choices(), unscoped=sites is None, editing=editing, form=form, errors=errors,
                           pin_min=PIN_MIN, pin_max=PIN_MAX), status


@bp.get("/staff")
@login_required("manager")
def staff():
    return _render_staff()


@bp.post("/staff")
@login_required("manager")
def add_clerk():
    store = get_store()
    choices = _site_choices()

    def staff_id():
        value = request.form.get("staff", "").strip()
        if not STAFF_PATTERN.match(value):
            raise Invalid(_("工号须为 1 到 16 个字母、数字或连字符。"))
        if store.registry.clerk(value):
            raise Invalid(_("工号 %(staff)s 已存在。", staff=value))
        return value

    (number, name, site, pin_hash), errors = collect(
        staff_id, lambda: text("name", _("姓名"), MAX_TITLE), lambda: _chosen_site(choices),
        lambda: _pin(required=False))
    if not errors:
        try:
            store.registry.create_clerk(number, name, site, pin_hash)
        except sqlite3.IntegrityError:
            errors.append(_("工号 %(staff)s 已存在。", staff=number))
    if errors:
        return _render_staff(form=request.form, errors=errors, status=400)
    log.info("clerk %s added at site %s", number, site)
    flash(_("已添加工作人员 %(name)s（工号 %(staff)s）。", name=name, staff=number))
    return redirect(url_for("registry.staff"))


@bp.get("/staff/<staff>")
@login_required("manager")
def edit_clerk(staff: str):
    return _render_staff(editing=_clerk_in_scope(staff))


@bp.post("/staff/<staff>")
@login_required("manager")
def save_clerk(staff: str):
    row = _clerk_in_scope(staff)
    choices = _site_choices()
    (name, site), errors = collect(lambda: text("name", _("姓名"), MAX_TITLE), lambda: _chosen_site(choices))
    active = request.form.get("active") == "1"
    if errors:
        return _render_staff(editing=row, form={**request.form, "active": int(active)}, errors=errors, status=400)
    get_store().registry.update_clerk(staff, name, site, active)
    log.info("clerk %s: site %s, active %s", staff, site, active)
    flash(_("已保存工作人员 %(name)s（工号 %(staff)s）。", name=name, staff=staff))
    return redirect(url_for("registry.staff"))


@bp.post("/staff/<staff>/pin")
@login_required("manager")
def set_pin(staff: str):
    row = _clerk_in_scope(staff)
    errors = []
    try:
        pin_hash = _pin()
        if request.form.get("pin") != request.form.get("pin_again"):
            raise Invalid(_("两次输入的 PIN 码不一致。"))
    except Invalid as exc:
        errors.append(str(exc))
    if errors:
        return _render_staff(editing=row, errors=errors, status=400)
    get_store().registry.set_pin(staff, pin_hash)
    log.info("PIN of clerk %s set", staff)
    flash(_("已设置工号 %(staff)s 的 PIN 码。", staff=staff))
    return redirect(url_for("registry.edit_clerk", staff=staff))
