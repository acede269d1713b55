"""The alert pages: managers see and acknowledge the alerts of their sites (/alerts); the admin sets the rules
per site and where alerts go (/admin/alerts), and can send a test to a target. Ids travel in the forms;
every change is a POST with the CSRF token; bad input answers 400 with the reason."""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.followup import alerts
from server.followup.delivery import DeliveryError, Sender
from server.ops.mailer import SmtpSettings
from server.web.auth import current_user, login_required
from server.web.context import get_store, now_ms, server_tz
from server.web.scope import visible_sites

log = logging.getLogger(__name__)

bp = Blueprint("alerts", __name__)

TARGET_KINDS = ("webhook", "wecom", "dingtalk", "email")
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+\Z")
MAX_ADDRESS = 500


def _masked(kind: str, address: str) -> str:
    """Where a target points, without the token a robot's address carries."""
    if kind == "email":
        return address
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.netloc}/…"


def _form_id(name: str) -> int:
    value = request.form.get(name, "")
    if not value.isascii() or not value.isdigit():
        abort(400, _("缺少或无效的编号。"))
    return int(value)


def _shown(alert: dict) -> str:
    """The alert's text in the reader's language; the stored Chinese when it has no template (or a bad one)."""
    if alert.get("text"):
        try:
            return alerts.Text.from_json(alert["text"]).translated(_)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("alert %s: unreadable text %r: %s", alert["id"], alert["text"][:200], exc)
    return alert["message"]


# ---------------------------------------------------------------- managers: the alerts of their sites
@bp.get("/alerts")
@login_required("manager")
def page():
    store = get_store()
    sites = visible_sites()
    rows = store.alerts.alert_list(sites)
    deliveries = store.alerts.deliveries_of([r["id"] for r in rows])
    for row in rows:
        row["shown"] = _shown(row)  # its times: the template's `hall_time` filter
        row["deliveries"] = [{**d, "where": _masked(d["kind"], d["address"])} for d in deliveries[row["id"]]]
    return render_template("alerts.html", rows=rows, open_count=store.alerts.open_alert_count(sites),
                           kind_labels=alerts.KIND_LABELS)


@bp.post("/alerts/ack")
@login_required("manager")
def ack():
    store = get_store()
    alert = store.alerts.alert(_form_id("alert_id"))
    sites = visible_sites()
    if alert is None or (sites is not None and alert["site"] not in sites):
        abort(404, _("告警不存在。"))
    if store.alerts.ack_alert(alert["id"], current_user()["username"], now_ms()):
        flash(_("已确认告警 %(id)s。", id=alert["id"]))
    else:
        flash(_("告警 %(id)s 已被确认过。", id=alert["id"]))
    return redirect(url_for("alerts.page"))


# ---------------------------------------------------------------- the admin: rules and targets
def _admin_page(errors: list[str] = (), form: dict | None = None, status: int = 200):
    store = get_store()
    rules = store.alerts.alert_rules()
    for rule in rules:
        rule["shown"] = alerts.shown_params(rule["kind"], alerts.params_of(rule))
    targets = store.alerts.alert_targets()
    sites = store.registry.sites()
    return render_template("admin_alerts.html", rules=rules, targets=targets, sites=sites,
                           site_names={s["site"]: s["name"] for s in sites},
                           kinds=alerts.KINDS, kind_labels=alerts.KIND_LABELS, params=alerts.PARAMS,
                           descriptions=alerts.KIND_DESCRIPTIONS, defaults={k: alerts.shown_params(k, {})
                                                                            for k in alerts.KINDS},
                           target_kinds=TARGET_KINDS, errors=errors, form=form or {},
                           smtp=SmtpSettings.from_config(current_app.config) is not None), status


@bp.get("/admin/alerts")
@login_required("admin")
def admin():
    return _admin_page()


def _site() -> str | None:
    site = request.form.get("site", "").strip()
    if not site:
        return None
    if get_store().registry.site(site) is None:
        raise ValueError(_("大厅 %(site)s 不存在。", site=site))
    return site


def _params(kind: str, fields) -> dict:
    try:
        return alerts.parse_params(kind, fields)
    except alerts.ParamError as exc:
        raise ValueError(exc.translated(_)) from None


@bp.post("/admin/alerts/rules")
@login_required("admin")
def add_rule():
    kind = request.form.get("kind", "")
    try:
        if kind not in alerts.KINDS:
            raise ValueError(_("请选择告警类型。"))
        site = _site()
        params = _params(kind, request.form)
    except ValueError as exc:
        return _admin_page([str(exc)], request.form, 400)
    get_store().alerts.create_alert_rule(site, kind, params, True)
    flash(_("已添加告警规则。"))
    return redirect(url_for("alerts.admin"))


@bp.post("/admin/alerts/rules/save")
@login_required("admin")
def save_rule():
    store = get_store()
    rule = store.alerts.alert_rule(_form_id("rule_id"))
    if rule is None:
        abort(404, _("告警规则不存在。"))
    try:
        params = _params(rule["kind"], request.form)
    except ValueError as exc:
        return _admin_page([str(exc)], None, 400)
    store.alerts.update_alert_rule(rule["id"], params, request.form.get("enabled") == "1")
    flash(_("已保存告警规则 %(id)s。", id=rule["id"]))
    return redirect(url_for("alerts.admin"))


@bp.post("/admin/alerts/rules/delete")
@login_required("admin")
def delete_rule():
    rule_id = _form_id("rule_id")
    if not get_store().alerts.delete_alert_rule(rule_id):
        abort(404, _("告警规则不存在。"))
    flash(_("已删除告警规则 %(id)s，它产生过的告警仍保留。", id=rule_id))
    return redirect(url_for("alerts.admin"))


def _address(kind: str) -> str:
    address = request.form.get("address", "").strip()
    if not address or len(address) > MAX_ADDRESS or any(c.isspace() for c in address):
        raise ValueError(_("请填写地址（不含空格，最长 %(n)s 个字符）。", n=MAX_ADDRESS))
    if kind == "email":
        if not EMAIL.match(address):
            raise ValueError(_("“%(address)s”不是电子邮件地址。", address=address))
        return address
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(_("“%(address)s”不是 http:// 或 https:// 地址。", address=address))
    if parts.fragment and not (kind == "dingtalk" and parts.fragment.startswith("SEC")):
        raise ValueError(_("地址不能带 # 部分（钉钉机器人的加签密钥除外，写成 #SEC…）。"))
    return address


@bp.post("/admin/alerts/targets")
@login_required("admin")
def add_target():
    kind = request.form.get("kind", "")
    try:
        if kind not in TARGET_KINDS:
            raise ValueError(_("请选择接收方式。"))
        site = _site()
        address = _address(kind)
    except ValueError as exc:
        return _admin_page([str(exc)], request.form, 400)
    get_store().alerts.create_alert_target(site, kind, address, True)
    flash(_("已添加告警接收方。"))
    return redirect(url_for("alerts.admin"))


def _target() -> dict:
    target = get_store().alerts.alert_target(_form_id("target_id"))
    if target is None:
        abort(404, _("接收方不存在。"))
    return target


@bp.post("/admin/alerts/targets/toggle")
@login_required("admin")
def toggle_target():
    target = _target()
    get_store().alerts.set_alert_target_enabled(target["id"], not target["enabled"])
    flash(_("已停用接收方 %(id)s。", id=target["id"]) if target["enabled"]
          else _("已启用接收方 %(id)s。", id=target["id"]))
    return redirect(url_for("alerts.admin"))


@bp.post("/admin/alerts/targets/delete")
@login_required("admin")
def delete_target():
    target = _target()
    get_store().alerts.delete_alert_target(target["id"])
    flash(_("已删除接收方 %(id)s。", id=target["id"]))
    return redirect(url_for("alerts.admin"))


@bp.post("/admin/alerts/targets/test")
@login_required("admin")
def test_target():
    """Sends a test alert now (at most a few seconds) and says how it went."""
    target = _target()
    now = now_ms()
    sample = {"alert_id": 0, "kind": "test", "site": target["site"], "window": None, "title": None, "device": None,
              "message": "这是一条测试告警，收到即表示接收方配置正确。", "first_at": now, "last_at": now, "count": 1,
              "acked_at": None}
    sender = Sender(SmtpSettings.from_config(current_app.config), server_tz())
    try:
        sender(target["kind"], target["address"], sample, now)
    except DeliveryError as exc:
        log.warning("test alert to target %s failed: %s", target["id"], exc)
        return _admin_page([_("测试发送失败：%(error)s", error=str(exc))], None, 502)
    flash(_("测试告警已发送到接收方 %(id)s。", id=target["id"]))
    return redirect(url_for("alerts.admin"))
