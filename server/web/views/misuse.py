"""The misuse rules of each site (server/domain/misuse.py), set by an admin: which rules apply, their thresholds,
and whether the official figures count flagged ratings. Changing the last re-counts the site's ratings at once."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server.domain.misuse import BOUNDS, OFFICIAL, Settings
from server.web.auth import current_user, login_required
from server.web.context import get_store

log = logging.getLogger(__name__)

bp = Blueprint("misuse", __name__)

LABELS = {
    "hours": _l("非营业时间的评价"), "signin": _l("签到后立即出现的评价"), "signin_seconds": _l("签到后秒数"),
    "burst": _l("集中评价"), "burst_count": _l("条数"), "burst_seconds": _l("秒内"),
    "run": _l("连续满分且远快于平时"), "run_length": _l("连续满分条数"), "run_pace": _l("快于平时的倍数"),
    "served": _l("超出服务人数的评价"), "outlier": _l("满分比例异常的工作人员"),
    "outlier_min": _l("最少评价数"), "outlier_alpha": _l("显著性水平"),
}
SWITCHES = ("hours", "signin", "burst", "run", "served", "outlier")
NUMBERS = {"signin": ("signin_seconds",), "burst": ("burst_count", "burst_seconds"), "run": ("run_length", "run_pace"),
           "outlier": ("outlier_min", "outlier_alpha")}


def _site_or_404(site: str) -> str | None:
    if not site:
        return None
    if get_store().registry.site(site) is None:
        abort(404, _("大厅 %(site)s 不存在", site=site))
    return site


def _render(site: str | None, values: dict, errors=(), status: int = 200):
    sites = get_store().registry.sites()
    return render_template("admin_misuse.html", site=site or "", sites=sites, values=values, errors=errors,
                           labels=LABELS, switches=SWITCHES, numbers=NUMBERS, bounds=BOUNDS), status


@bp.get("/admin/misuse")
@login_required("admin")
def page():
    site = _site_or_404(request.args.get("site", ""))
    return _render(site, Settings.stored(get_store().misuse.site_settings(site)).to_dict())


@bp.post("/admin/misuse")
@login_required("admin")
def save():
    site = _site_or_404(request.form.get("site", ""))
    values: dict = {name: request.form.get(name) == "1" for name in SWITCHES}
    errors = []
    for names in NUMBERS.values():
        for name in names:
            text = request.form.get(name, "").strip()[:16]
            try:
                values[name] = float(text) if name in ("run_pace", "outlier_alpha") else int(text)
            except ValueError:
                low, high = BOUNDS[name]
                errors.append(_("%(label)s应为 %(low)s 到 %(high)s 之间的数。", label=LABELS[name], low=low, high=high))
    values["official"] = request.form.get("official", "")
    if values["official"] not in OFFICIAL:
        errors.append(_("请选择正式数字是否包含疑似违规评价。"))
    if not errors:
        try:
            Settings.parse(values)
        except ValueError as exc:
            name = str(exc).split(" ")[0]
            low, high = BOUNDS.get(name, ("", ""))
            errors.append(_("%(label)s应为 %(low)s 到 %(high)s 之间的数。", label=LABELS.get(name, name), low=low,
                            high=high))
    if errors:
        return _render(site, {**Settings().to_dict(), **{k: v for k, v in values.items() if v is not None}},
                       errors, 400)
    store = get_store()
    with store.db.atomic():
        store.misuse.set_site_settings(site, values)
        _recount(store)
    log.info("misuse settings of %s saved by %s: %s", site or "every site", current_user()["username"], values)
    flash(_("已保存%(site)s的疑似违规规则。", site=site or _("所有大厅（默认）")))
    return redirect(url_for("misuse.page", site=site or None))


def _recount(store) -> None:
    """Each site's ratings counted in the official figures as its setting now says."""
    by_site: dict[str | None, list[str]] = {}
    for w in store.reports.windows():
        by_site.setdefault(w.get("site"), []).append(w["window"])
    for site, windows in by_site.items():
        store.misuse.set_official(windows, Settings.stored(store.misuse.site_settings(site)).official == "unflagged")
