"""The Flask app factory: `create_app(test_config=None)`."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from shared.clock import SystemClock

from . import admin, api, auth, i18n, pages
from .db import open_db
from .web_db import close_store


def create_app(test_config: dict | None = None, settings: dict | None = None) -> Flask:
    """`test_config` replaces the instance file and the CEVAL_* environment (tests);
    `settings` (the command line's) applies on top of them."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "ceval.sqlite3"),
        TIMEZONE="Asia/Shanghai",
        CLOCK=SystemClock(),
        JSON_AS_ASCII=False,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("CEVAL")
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(settings or {})
    try:
        ZoneInfo(app.config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {app.config['TIMEZONE']!r}") from None
    app.json.ensure_ascii = False
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=bool(app.config.get("TLS")),
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=12))
    open_db(app.config["DATABASE"]).close()  # schema up to date before the first request
    app.teardown_appcontext(close_store)
    app.before_request(auth.check_csrf)
    app.jinja_env.globals["csrf_token"] = auth.csrf_token
    app.context_processor(lambda: {"current_user": auth.current_user()})
    i18n.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(admin.bp)
    return app


def _instance_secret(app: Flask) -> str:
    """The key that signs session cookies: made once, kept in the instance folder (mode 0600)."""
    path = os.path.join(os.path.dirname(os.path.abspath(app.config["DATABASE"])), "secret_key")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
