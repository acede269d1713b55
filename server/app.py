"""The Flask app factory: `create_app(test_config=None)`."""
from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from shared.clock import SystemClock

from . import api, pages
from .db import open_db
from .web_db import close_store


def create_app(test_config: dict | None = None) -> Flask:
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
    try:
        ZoneInfo(app.config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {app.config['TIMEZONE']!r}") from None
    app.json.ensure_ascii = False
    open_db(app.config["DATABASE"]).close()  # schema up to date before the first request
    app.teardown_appcontext(close_store)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    return app
