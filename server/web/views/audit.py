"""Audit downloads: a window's bundle of signed records for a range of days, and the file that checks it
(shared/signing.py, standalone: docs/audit.md)."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response

from server.reporting.audit import bundle
from server.web.auth import login_required
from server.web.context import get_store, now_ms
from server.web.report_views import report_range
from server.web.scope import require_window
from shared import signing

bp = Blueprint("audit", __name__)


@bp.get("/windows/<window>/audit-bundle.json")
@login_required("manager")
def window_bundle(window: str):
    """The signed records of the window's range, for a third party to check without the server."""
    require_window(window)
    days = report_range()
    made = bundle(get_store(), window, days.start, days.end, now_ms(), (days.first.isoformat(), days.last.isoformat()))
    name = f"audit-{window}-{days.first.isoformat()}-{days.last.isoformat()}.json"
    return Response(json.dumps(made, ensure_ascii=False, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/audit/signing.py")
@login_required("manager")
def checker():
    """The check itself, as the auditor runs it: python3 signing.py BUNDLE.json."""
    return Response(Path(signing.__file__).read_bytes(), mimetype="text/x-python",
                    headers={"Content-Disposition": 'attachment; filename="signing.py"'})
