"""The comment form a customer opens on their own phone from the kiosk's QR code.

No log-in: the link carries a short-lived token signed for one window (comment_token.py).
A comment is stored as that window's feedback with channel 'phone' and the clerk on duty.

Limits count phones and tokens, not addresses (a hall's Wi-Fi is one address): each phone carries a
signed cookie with a random id; a comment is counted for its phone, then its token, then its window, and
each only when the one before still had room, so a token used up by one person (from any number of phones
and addresses) takes at most PER_TOKEN of the window's PER_WINDOW and the other customers of the window
still get through. Only comments that would be stored count. Every form carries the CSRF token.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer

from server.domain.comment_token import BadToken, check_token, token_lifetime
from server.web import rate_limits
from server.web.context import get_store, now_ms, server_tz
from server.web.security import cookie_secure
from shared.contract import MAX_TEXT_CHARS
from shared.timefmt import format_ts

bp = Blueprint("phone", __name__)

PER_PHONE = "5 per 10 minutes"     # comments from one phone
PER_TOKEN = "10 per 10 minutes"    # comments with one QR code's token, whoever sends them
PER_WINDOW = "30 per 10 minutes"   # comments for one window
PHONE_COOKIE = "ceval_phone"
PHONE_COOKIE_DAYS = 30
ECHO_CHARS = 4 * MAX_TEXT_CHARS  # a refused text is shown back to copy, never more than this
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")  # direction overrides that can disguise text


def clean_text(text: str) -> str:
    """Line breaks kept (as \\n), other control characters and direction overrides removed, ends trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    return _BIDI.sub("", text).strip()


def _window_or_404(window: str) -> tuple[str, str | None]:
    row = get_store().kiosk_config.window_on_duty(window)
    if row is None:
        abort(404, _("窗口 %(window)s 不存在", window=window))
    return row


def _checked(window: str, token: str, text: str = ""):
    """None when the token is good for this window now, else the 403 page (the text is shown to copy)."""
    try:
        check_token(current_app.config["SECRET_KEY"], token, window, current_app.config["CLOCK"].now(),
                    token_lifetime(current_app.config))
    except BadToken as exc:
        current_app.logger.info("phone comment for %s refused: %s", window, exc)
        return render_template("phone_error.html", title=_("二维码已失效"), text=text, message=_(
            "这个留言页面已过期或链接不完整。请重新扫描窗口评价器上的二维码。")), 403
    return None


def _phone_id() -> str:
    """The id in this phone's signed cookie; a phone without one (or with a forged one) gets a new one,
    set on the answer."""
    if "phone_id" not in g:
        signer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="phone")
        try:
            g.phone_id = signer.loads(request.cookies.get(PHONE_COOKIE, ""))
        except BadSignature:
            g.phone_id = secrets.token_hex(16)
            g.phone_cookie = signer.dumps(g.phone_id)
    return g.phone_id


@bp.after_request
def _set_phone_cookie(response):
    if "phone_cookie" in g:
        response.set_cookie(PHONE_COOKIE, g.phone_cookie, max_age=PHONE_COOKIE_DAYS * 24 * 3600,
                            path=request.script_root + "/c/",
                            secure=cookie_secure(), httponly=True, samesite="Lax")
    return response


def _room_for_one_more(window: str, token: str) -> bool:
    """Count one comment for the phone, its token and its window, in that order and each only when the one
    before had room: False (and the rest not counted) as soon as one is full."""
    token_key = hashlib.sha256(token.encode()).hexdigest()[:32]
    return (rate_limits.take(PER_PHONE, "comment-phone", _phone_id())
            and rate_limits.take(PER_TOKEN, "comment-token", token_key)
            and rate_limits.take(PER_WINDOW, "comment-window", window))


@bp.errorhandler(CSRFError)
def _form_expired(error: CSRFError):
    return render_template("phone_error.html", title=_("页面已过期"), text=request.form.get("text", "")[:ECHO_CHARS],
                           message=_("这个留言页面已过期。请重新扫描窗口评价器上的二维码。")), 400


@bp.get("/c/<window>")
def form(window: str):
    title, _staff = _window_or_404(window)
    token = request.args.get("t", "")
    refused = _checked(window, token)
    if refused:
        return refused
    _phone_id()
    return render_template("phone_comment.html", window=window, title=title, token=token, text="", error=None,
                           limit=MAX_TEXT_CHARS)


@bp.post("/c/<window>")
def send(window: str):
    title, staff = _window_or_404(window)
    token = request.form.get("t", "")
    raw = request.form.get("text", "")
    shown = raw[:ECHO_CHARS]
    refused = _checked(window, token, shown)
    if refused:
        return refused
    text = clean_text(raw)
    error = None
    if not text:
        error = _("请先写下您的意见或建议。")
    elif len(text) > MAX_TEXT_CHARS:
        error = _("留言最多 %(limit)s 个字，现在有 %(n)s 个字。", limit=MAX_TEXT_CHARS, n=len(text))
    if error:
        return render_template("phone_comment.html", window=window, title=title, token=token, text=shown,
                               error=error, limit=MAX_TEXT_CHARS), 400
    if not _room_for_one_more(window, token):
        current_app.logger.info("phone comment for %s refused: too many", window)
        return render_template("phone_error.html", title=_("留言太频繁"), text=shown, message=_(
            "短时间内留言太多，请 10 分钟后再试。")), 429
    moment = current_app.config["CLOCK"].now().astimezone(server_tz())
    get_store().kiosk_config.add_phone_comment("phone-" + uuid.uuid4().hex, window, staff, text, format_ts(moment), now_ms())
    return redirect(url_for("phone.thanks", window=window))


@bp.get("/c/<window>/thanks")
def thanks(window: str):
    title, _staff = _window_or_404(window)
    return render_template("phone_thanks.html", title=title)
