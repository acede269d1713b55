"""The Flask app factory: `create_app(test_config=None)`."""
from __future__ import annotations

import os
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server.domain.zones import DEFAULT_ZONE
from server.ops.secret import instance_secret
from server.store.db import open_db
from server.web import auth, errors, i18n, names, navigation, security
from server.web.context import close_store, hall_time
from server.web.views import (
    admin,
    alerts,
    api,
    appeals,
    audit,
    cases,
    clerk,
    compare,
    gbt39046,
    hall,
    misuse,
    monthly,
    phone,
    public,
    registry,
    report_runs,
    staff,
    window_kiosk,
)
from shared.clock import SystemClock


def create_app(test_config: dict | None = None, settings: dict | None = None) -> Flask:
    """`test_config` replaces the instance file and the CEVAL_* environment (tests);
    `settings` (the command line's) applies on top of them."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "ceval.sqlite3"),
        TIMEZONE=DEFAULT_ZONE,
        CLOCK=SystemClock(),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=security.MAX_BODY_BYTES,
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
    proxies = int(app.config.get("PROXIES", 0))
    if proxies:  # behind N reverse proxies: the client's address is theirs to tell (rate limits use it)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(app.config["DATABASE"])
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=12))
    open_db(app.config["DATABASE"]).close()  # schema up to date before the first request
    app.teardown_appcontext(close_store)
    auth.init_app(app)  # Flask-Login sessions, Flask-WTF CSRF (`csrf_token()` in forms), Flask-Limiter counts
    auth.exempt_from_csrf(api.bp)  # bearer tokens, no cookies
    i18n.init_app(app)
    navigation.init_app(app)  # `open_alerts()`: the alert badge of the navigation and the board
    names.init_app(app)  # `person` and `rating_level`: names in the reader's language
    app.add_template_filter(hall_time, "hall_time")  # a moment in the hall's zone, as every page shows it
    errors.init_app(app)  # JSON under /api/, pages in the reader's language elsewhere
    security.init_app(app)  # CSP and frame headers; Secure cookies whenever reached over HTTPS
    app.register_blueprint(api.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(clerk.bp)
    app.register_blueprint(hall.bp)
    app.register_blueprint(monthly.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(compare.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(registry.bp)
    app.register_blueprint(appeals.bp)
    app.register_blueprint(gbt39046.bp)
    app.register_blueprint(report_runs.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(misuse.bp)
    app.register_blueprint(window_kiosk.bp)
    return app
