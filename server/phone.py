"""The comment form a customer opens on their own phone from the kiosk's QR code.

No log-in: the link carries a short-lived token signed for one window (comment_token.py).
A comment is stored as that window's feedback with channel 'phone' and the clerk on duty.
Sending is rate-limited per address and per window; every form carries the CSRF token.
"""
from __future__ import annotations

import re
import unicodedata
import uuid

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared.contract import MAX_TEXT_CHARS
from shared.timefmt import format_ts

from .comment_token import LIFETIME_SECONDS, BadToken, check_token
from .web_db import get_store, now_ms, server_tz

bp = Blueprint("phone", __name__)

LIMIT_WINDOW_MS = 10 * 60 * 1000
MAX_PER_ADDRESS = 5    # comments from one address in 10 minutes
MAX_PER_WINDOW = 30    # comments for one window in 10 minutes
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")  # direction overrides that can disguise text


def clean_text(text: str) -> str:
    """Line breaks kept (as \\n), other control characters and direction overrides removed, ends trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    return _BIDI.sub("", text).strip()


def _window_or_404(window: str) -> tuple[str, str | None]:
    row = get_store().window_on_duty(window)
    if row is None:
        abort(404, _("窗口 %(window)s 不存在", window=window))
    return row


def _checked(window: str, token: str, text: str = ""):
    """None when the token is good for this window now, else the 403 page (the text is shown to copy)."""
    try:
        check_token(current_app.config["SECRET_KEY"], token, window, current_app.config["CLOCK"].now(),
                    float(current_app.config.get("COMMENT_TOKEN_SECONDS", LIFETIME_SECONDS)))
    except BadToken as exc:
        current_app.logger.info("phone comment for %s refused: %s", window, exc)
        return render_template("phone_error.html", title=_("二维码已失效"), text=text, message=_(
            "这个留言页面已过期或链接不完整。请重新扫描窗口评价器上的二维码。")), 403
    return None


@bp.get("/c/<window>")
def form(window: str):
    title, _staff = _window_or_404(window)
    token = request.args.get("t", "")
    refused = _checked(window, token)
    if refused:
        return refused
    return render_template("phone_comment.html", window=window, title=title, token=token, text="", error=None,
                           limit=MAX_TEXT_CHARS)


@bp.post("/c/<window>")
def send(window: str):
    title, staff = _window_or_404(window)
    token = request.form.get("t", "")
    raw = request.form.get("text", "")
    refused = _checked(window, token, raw)
    if refused:
        return refused
    store = get_store()
    now = now_ms()
    keys = (f"comment-address:{request.remote_addr}", f"comment-window:{window}")
    since = now - LIMIT_WINDOW_MS
    if store.attempts(keys[0], since) >= MAX_PER_ADDRESS or store.attempts(keys[1], since) >= MAX_PER_WINDOW:
        return render_template("phone_error.html", title=_("留言太频繁"), text=raw, message=_(
            "短时间内留言太多，请 10 分钟后再试。")), 429
    text = clean_text(raw)
    error = None
    if not text:
        error = _("请先写下您的意见或建议。")
    elif len(text) > MAX_TEXT_CHARS:
        error = _("留言最多 %(limit)s 个字，现在有 %(n)s 个字。", limit=MAX_TEXT_CHARS, n=len(text))
    if error:
        return render_template("phone_comment.html", window=window, title=title, token=token, text=raw,
                               error=error, limit=MAX_TEXT_CHARS), 400
    moment = current_app.config["CLOCK"].now().astimezone(server_tz())
    store.add_phone_comment("phone-" + uuid.uuid4().hex, window, staff, text, format_ts(moment), now)
    for key in keys:
        store.record_attempt(key, now)
    return redirect(url_for("phone.thanks", window=window))


@bp.get("/c/<window>/thanks")
def thanks(window: str):
    title, _staff = _window_or_404(window)
    return render_template("phone_thanks.html", title=title)
