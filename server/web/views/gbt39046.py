"""The export of evaluation records in the layout of GB/T 39046-2020 table 9 (managers, their sites), and
its settings (admin): the channel and its provincial code, the area code. See docs/gbt39046.md."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.domain import gbt39046
from server.reporting import verified
from server.reporting.exports import Sheet
from server.web.auth import login_required
from server.web.context import get_store, server_tz
from server.web.downloads import export_response
from server.web.report_views import report_range, scoped_window_names

log = logging.getLogger(__name__)

bp = Blueprint("gbt39046", __name__)

MAX_DAYS = 92  # a quarter: the whole range is built in memory


def export_settings() -> dict:
    """The admin's settings over the defaults."""
    return {**gbt39046.DEFAULT_SETTINGS, **get_store().settings.setting("export", {})}


def records(start: int, end: int) -> list[gbt39046.Record]:
    settings = export_settings()
    tz = server_tz()
    store = get_store()
    return [gbt39046.record(r, settings, tz)
            for r in verified.mark(store, store.appeals.evaluation_records(start, end, scoped_window_names()))]


@bp.get("/exports/gbt39046")
@login_required("manager")
def page():
    """The export's range form and its settings as they stand."""
    return render_template("export_gbt39046.html", days=report_range(), settings=export_settings(),
                           max_days=MAX_DAYS)


@bp.get("/exports/gbt39046.<any(csv, json, xlsx):fmt>")
@login_required("manager")
def download(fmt: str):
    """Every rating of the range (`from`, `to`; this month by default) of the user's windows, appealed
    ones included with the decision: CSV, XLSX, or JSON with English keys."""
    days = report_range()
    if (days.last - days.first).days + 1 > MAX_DAYS:
        abort(400, _("导出范围最多 %(n)s 天", n=MAX_DAYS))
    rows = records(days.start, days.end)
    stem = f"gbt39046-{days.first.isoformat()}-{days.last.isoformat()}"
    if fmt == "json":
        body = json.dumps([r.json() for r in rows], ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.json"'})
    return export_response(stem, [Sheet(_("评价记录"), gbt39046.HEADERS, [r.row() for r in rows])], fmt)


@bp.get("/admin/export")
@login_required("admin")
def settings():
    return _settings_page(export_settings())


def _settings_page(values: dict, errors: list[str] | None = None, status: int = 200):
    return render_template("admin_export.html", values=values, channels=gbt39046.CHANNELS,
                           hall_channels=gbt39046.HALL_CHANNELS, sites=get_store().registry.sites(),
                           errors=errors or []), status


@bp.post("/admin/export")
@login_required("admin")
def save_settings():
    """Channel (one of the standard's), its code (1-4 letters or digits), the area code (up to 9 digits) and
    each site's own area code (empty: the general one)."""
    form = request.form
    site_codes = {s["site"]: form.get(f"area_{s['site']}", "").strip() for s in get_store().registry.sites()}
    values = {"channel": form.get("channel", "").strip(), "channel_code": form.get("channel_code", "").strip(),
              "area_code": form.get("area_code", "").strip(),
              "site_area_codes": {site: code for site, code in site_codes.items() if code}}
    messages = {"channel": _("请从标准的评价渠道中选择一个。"),
                "channel_code": _("渠道代码须为 1 到 4 位字母或数字。"),
                "area_code": _("行政区划代码须为 1 到 9 位数字。")}
    problems = gbt39046.check_settings(values["channel"], values["channel_code"], values["area_code"],
                                       values["site_area_codes"])
    if problems:
        return _settings_page(values, [messages[p] for p in problems], 400)
    get_store().settings.set_setting("export", values)
    log.info("export settings changed: %s", values)
    flash(_("导出设置已保存。"))
    return redirect(url_for("gbt39046.settings"))

