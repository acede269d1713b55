"""What every response of the web app says about its own safety, and when cookies are Secure.

Headers: a Content-Security-Policy with no inline script but the page's own (a nonce per request), frame
denial everywhere except views marked `embeddable` (the public board, which a hall may put in its own site:
`BOARD_FRAME_ANCESTORS`, default `*`), nosniff, and no referrer to other sites (phone links carry a token).

Cookies are Secure whenever the app is reached over HTTPS: `PUBLIC_URL` is https://…, `TLS` is set, or the
request itself came over HTTPS (behind `PROXIES`, as the proxy's X-Forwarded-Proto says). `cookie_secure()`
is the one rule; the session cookie follows it through `SessionInterface`, other cookies pass it to
`set_cookie(secure=...)`.
"""
from __future__ import annotations

import re
import secrets

from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface

NONCE_BYTES = 18
MAX_BODY_BYTES = 1024 * 1024  # the largest form is the holiday file (64 KB): a request body is at most 1 MiB
_SOURCES = re.compile(r"[^\s;,]+(?:\s+[^\s;,]+)*")  # CSP source expressions, space separated


def csp_nonce() -> str:
    """This request's script nonce: `<script nonce="{{ csp_nonce() }}">`."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return g.csp_nonce


def embeddable(view):
    """Mark a view whose page other sites may show in a frame (within BOARD_FRAME_ANCESTORS)."""
    view.embeddable = True
    return view


def cookie_secure() -> bool:
    """Whether a cookie set now carries the Secure flag: the app is reached over HTTPS."""
    config = current_app.config
    return bool(config.get("TLS")) or str(config.get("PUBLIC_URL") or "").lower().startswith("https://") \
        or request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure by cookie_secure() rather than by a fixed setting."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure()


def _policy(frame_ancestors: str) -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self' 'unsafe-inline'",  # the templates' <style> blocks; no script can run from a style
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ))


def add_headers(response):
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "embeddable", False):
        ancestors = current_app.config["BOARD_FRAME_ANCESTORS"]
    else:
        ancestors = "'none'"
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = _policy(ancestors)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def init_app(app: Flask) -> None:
    """Check the settings, send the headers on every response, make the session cookie follow cookie_secure()."""
    ancestors = str(app.config.setdefault("BOARD_FRAME_ANCESTORS", "*")).strip()
    if not _SOURCES.fullmatch(ancestors):
        raise ValueError(f"BOARD_FRAME_ANCESTORS {ancestors!r} is not a list of CSP sources, e.g. "
                         "\"'self' https://www.example.gov.cn\"")
    app.config["BOARD_FRAME_ANCESTORS"] = ancestors
    app.session_interface = SessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(add_headers)
