"""The web app's languages: Chinese by default, English from gettext catalogs.

The source texts are Chinese (the halls' language); `server/translations/en` (server/catalogs.py) holds
their English. The choice is kept in a cookie, set by `/lang/<code>`.
"""
from __future__ import annotations

from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel

from server.catalogs import DIRECTORY
from server.web.auth import safe_next
from server.web.security import cookie_secure

LANGUAGES = ("zh", "en")
COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale="zh", 
          default_translation_directories=str(DIRECTORY))
    app.jinja_env.globals["current_language"] = select_locale
    app.register_blueprint(bp)


@bp.get("/lang/<code>")
def choose(code: str):
    """Switch language and go back where the user was."""
    response = redirect(safe_next(request.args.get("next")))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=cookie_secure())
    return response
