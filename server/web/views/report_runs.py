"""The scheduled reports in the web app: the runs and their files (managers), the recipients and "run now"
(admins). A stored report covers every site; a user limited to some sites downloads the same report of
their sites' windows instead, made when they download it."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.ops.mailer import SmtpSettings
from server.reporting.exports import XLSX
from server.reporting.scheduled import Period, ReportTask, recipients_of, report_file
from server.store.settings import MAX_MIN_SAMPLE
from server.web.auth import current_user, login_required
from server.web.context import get_store, hall_time, local_today, now_ms, server_tz
from server.web.scope import visible_sites

log = logging.getLogger(__name__)

bp = Blueprint("report_runs", __name__)

EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z")
MAX_RECIPIENTS = 50
MAX_ADDRESS = 254


def _rows(runs: list[dict]) -> list[dict]:
    return [{**r, "started": hall_time(r["started_at"], "minute"), "finished": hall_time(r["finished_at"], "minute")}
            for r in runs]


@bp.get("/reports/runs")
@login_required("manager")
def runs():
    return render_template("report_runs.html", runs=_rows(get_store().report_runs.report_runs()), scoped=visible_sites())


@bp.get("/reports/runs/<int:run_id>.xlsx")
@login_required("manager")
def download(run_id: int):
    store = get_store()
    run = store.report_runs.report_run_by_id(run_id)
    content = store.report_runs.report_run_content(run_id) if run else None
    if content is None:
        abort(404, _("没有这份报表文件。"))
    name = f'{run["kind"]}-{run["period"]}'
    sites = visible_sites()
    if sites is not None:  # the same report of the user's sites only, as the figures stand now
        content, _hall = report_file(store, Period.parse(run["kind"], run["period"]), server_tz(), now_ms(), sites)
        name += "-" + "-".join(sorted(sites))
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def parse_recipients(text: str) -> tuple[list[str], list[str]]:
    """Addresses separated by lines, commas, semicolons or spaces: the valid ones (without repeats) and errors."""
    found, errors, seen = [], [], set()
    for address in re.split(r"[\s,;，；]+", text or ""):
        if not address:
            continue
        if len(address) > MAX_ADDRESS or not EMAIL.match(address):
            errors.append(_("“%(address)s”不是有效的电子邮件地址。", address=address[:80]))
        elif address.lower() not in seen:
            seen.add(address.lower())
            found.append(address)
    if len(found) > MAX_RECIPIENTS:
        errors.append(_("收件人最多 %(n)s 个。", n=MAX_RECIPIENTS))
    return found, errors


def _admin_page(status: int = 200, errors: list[str] | None = None, recipients_text: str | None = None,
                run_form: dict | None = None, min_sample: str | None = None):
    store = get_store()
    smtp = SmtpSettings.from_config(current_app.config)
    today = local_today()
    yesterday = today - timedelta(days=1)
    last_month = Period.month(today.replace(day=1) - timedelta(days=1))
    return render_template(
        "admin_reports.html", errors=errors or [], smtp=smtp,
        recipients_text=recipients_text if recipients_text is not None else "\n".join(recipients_of(store)),
        run_form=run_form or {"daily": yesterday.isoformat(), "monthly": last_month.name},
        runs=_rows(store.report_runs.report_runs(limit=10)),
        min_sample=store.settings.min_sample() if min_sample is None else min_sample,
        max_min_sample=MAX_MIN_SAMPLE), status


@bp.get("/admin/reports")
@login_required("admin")
def admin():
    return _admin_page()


@bp.post("/admin/reports")
@login_required("admin")
def save_recipients():
    text = request.form.get("recipients", "")
    recipients, errors = parse_recipients(text)
    if errors:
        return _admin_page(400, errors, recipients_text=text)
    store = get_store()
    value = store.settings.setting("reports", {})
    store.settings.set_setting("reports", {**(value if isinstance(value, dict) else {}), "recipients": recipients})
    flash(_("已保存 %(n)s 个收件人。", n=len(recipients)))
    return redirect(url_for("report_runs.admin"))


@bp.post("/admin/reports/ranking")
@login_required("admin")
def save_min_sample():
    """The fewest ratings a window or clerk needs to be ranked in 三比 and the monthly report."""
    text = request.form.get("min_sample", "").strip()[:16]
    try:  # whole numbers only here; their bounds are the store's (server/store/settings.py)
        get_store().settings.set_min_sample(int(text) if text.isascii() and text.isdigit() else 0)
    except ValueError:
        return _admin_page(400, [_("排名所需的最少评价数应为 1 到 %(max)s 之间的整数。", max=MAX_MIN_SAMPLE)],
                           min_sample=text)
    log.info("minimum sample for rankings set to %s by %s", text, current_user()["username"])
    flash(_("排名所需的最少评价数已设为 %(n)s 条。", n=int(text)))
    return redirect(url_for("report_runs.admin"))


@bp.post("/admin/reports/run")
@login_required("admin")
def run_now():
    """(Re)make one report at once: a finished day or month."""
    kind = request.form.get("kind", "")
    text = request.form.get("period", "")
    try:
        period = Period.parse(kind, text)
    except ValueError as exc:
        return _admin_page(400, [_(str(exc))], run_form={"daily": "", "monthly": "", kind: text})
    if period.last >= local_today():
        return _admin_page(400, [_("%(period)s 还没有结束，只能生成已经结束的日期或月份。", period=period.name)],
                           run_form={"daily": "", "monthly": "", kind: text})
    store = get_store()
    task = ReportTask(server_tz(), SmtpSettings.from_config(current_app.config))
    run = task.make_now(store, period, current_app.config["CLOCK"].now(), mail=bool(request.form.get("mail")))
    if run is None:
        flash(_("%(period)s 的报表正在生成，请稍后再看。", period=period.name))
    elif run["status"] == "failed":
        flash(_("%(period)s 的报表生成失败：%(error)s", period=period.name, error=run["error"]))
    else:
        flash(_("已生成 %(period)s 的报表。", period=period.name))
    return redirect(url_for("report_runs.runs"))
