"""Counted limits of the web app (log-in tries, phone comments) on Flask-Limiter's engine.

Each app has its own limiter (tests make many apps in one process); its storage comes from the
standard `RATELIMIT_STORAGE_URI` setting (default `memory://`: the server is one process, and a restart
forgets the counts). Views count a try with `take` at the moment the try is made, not with Flask-Limiter's
decorators: those count every request before the view, or (with `deduct_when`) only after the view has
answered, when 40 concurrent requests have all passed the check already. `take` is one atomic
check-and-count in the storage (a moving window: no burst at a window's edge).
"""
from __future__ import annotations

import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

EXTENSION = "ceval_rate_limits"


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.extensions[EXTENSION] = Limiter(get_remote_address, app=app)


def take(rule: str, *key: str) -> bool:
    """Count one try under `key` against `rule` (e.g. "5 per 15 minutes"); False, and nothing counted,
    when the rule's tries are used up."""
    return current_app.extensions[EXTENSION].limiter.hit(parse(rule), *key)


def retry_after(rule: str, *key: str) -> int:
    """Seconds until `rule` takes another try under `key` (a refusal's Retry-After)."""
    stats = current_app.extensions[EXTENSION].limiter.get_window_stats(parse(rule), *key)
    return max(1, math.ceil(stats.reset_time - time.time()))


def forget(rule: str, *key: str) -> None:
    """The tries counted under `key` are forgotten (a successful log-in)."""
    current_app.extensions[EXTENSION].limiter.clear(parse(rule), *key)
