"""What the web app's forms share: the error a form handler raises for bad input, and the checks of fields that
several pages ask for."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from server.web.context import get_store


class Invalid(Exception):
    """Bad form input; its messages (one or more, in the reader's language) are shown to the user."""


def text(name: str, label: str, limit: int, required: bool = True) -> str:
    value = " ".join(request.form.get(name, "").split())
    if required and not value:
        raise Invalid(_("请填写%(label)s。", label=label))
    if len(value) > limit:
        raise Invalid(_("%(label)s最长 %(n)s 个字。", label=label, n=limit))
    return value


def collect(*checks) -> tuple[list, list[str]]:
    """Run each check; their values, and the messages of those that failed."""
    values, errors = [], []
    for check in checks:
        try:
            values.append(check())
        except Invalid as exc:
            values.append(None)
            errors.extend(exc.args)
    return values, errors


def chosen_clerk(site: str | None) -> str | Invalid | None:
    """The form's `clerk`: none, or an active clerk of the window's site (the kiosk shows them)."""
    value = request.form.get("clerk", "").strip()
    if not value:
        return None
    clerk = get_store().registry.clerk(value)
    if clerk is None or not clerk["active"] or clerk["site"] != site:
        return Invalid(_("工号 %(staff)s 不是这个大厅在职的工作人员。", staff=value[:32]))
    return value
