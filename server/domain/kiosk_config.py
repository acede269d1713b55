"""The config each kiosk should have, built from the registry: pure, no SQL, no MQTT.

A kiosk at a window gets the window's title and assigned clerk, the active clerks of the
window's site who have a PIN hashed the current way (its roster: a clerk whose hash is of the
first, weak kind is left off until given a new PIN, see shared/pins.py), the window's kiosk settings (scale, labels,
reasons, language, away text, phrases, and the English of those texts where given: windows.config, defaults
where it says nothing), and,
when the server has a public URL, the link to the phone comment form with a signed token.
The token changes every refresh, so a config is compared by its `version`: a hash of the
config with the token left out, in two parts (everything but the link, then the link) so the
web app, which does not know the collector's public URL, can still tell whether a kiosk has
what a manager saved (`content_version`).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from shared.contract import STAFF_PATTERN, VERSION, Config, ContractError, default_title, parse_config
from shared.pins import is_pin_hash, is_strong_pin_hash

log = logging.getLogger(__name__)

MAX_CONFIG_BYTES = 64 * 1024  # what a kiosk accepts (docs/protocol.md, Config)
# what windows.config holds; the *_en (and a reason's label_en) are the English of custom texts, absent when none
SETTINGS = ("scale", "labels", "reasons", "language", "away_text", "phrases",
            "title_en", "labels_en", "phrases_en", "away_text_en", "thanks_show_score")


@dataclass(frozen=True)
class Target:
    """A confirmed device at a window, and what it was last sent (acknowledged by the broker)."""
    device: str
    window: str
    title: str
    site: str | None
    clerk: str | None = None        # the window's assigned clerk (staff number) and their name
    clerk_name: str | None = None
    sent: str | None = None      # version of the config last sent
    sent_at: int | None = None   # when it was sent, with its token (epoch ms)
    settings: str | None = None  # windows.config: the window's kiosk settings as JSON (see SETTINGS)


@dataclass(frozen=True)
class Clerk:
    staff: str
    name: str
    pin_hash: str


def comment_base(public_url: str | None, window: str) -> str | None:
    """The phone form's address for a window, without its token; None when the server has no public URL."""
    return f"{public_url.rstrip('/')}/c/{window}" if public_url else None


def with_token(config: Config, token: str) -> Config:
    """The config as published: its comment link carries the token."""
    if config.comment_url is None:
        return config
    return replace(config, comment_url=f"{config.comment_url}?t={token}")


def build_config(target: Target, roster: Iterable[Clerk], public_url: str | None) -> Config:
    """What the kiosk of `target` should show; its comment link still lacks the token (see with_token)."""
    clerks = []
    for clerk in roster:
        if not STAFF_PATTERN.match(clerk.staff) or not is_pin_hash(clerk.pin_hash):
            log.warning("clerk %r left off the roster of %s: bad staff number or PIN hash", clerk.staff, target.window)
        elif not is_strong_pin_hash(clerk.pin_hash):
            log.info("clerk %s left off the roster of %s: the PIN must be reset (an old, weak hash)",
                     clerk.staff, target.window)
        else:
            clerks.append({"id": clerk.staff, "name": clerk.name, "pin": clerk.pin_hash})
    staff = {"id": target.clerk, "name": target.clerk_name} if target.clerk and STAFF_PATTERN.match(target.clerk) \
        else None
    config = Config(title=target.title or default_title(target.window), staff=staff, roster=tuple(clerks),
                    comment_url=comment_base(public_url, target.window), **window_settings(target))
    return _fitted(config, target.window)


def settings_json(config: Config) -> str:
    """What windows.config stores of a config: its SETTINGS, as JSON."""
    data = json.loads(config.to_json())
    return json.dumps({name: data[name] for name in SETTINGS if name in data}, ensure_ascii=False)


def window_settings(target: Target) -> dict:
    """The window's stored SETTINGS as Config fields, read the way a kiosk reads them; {} (the defaults)
    when there are none, or when they are unusable (logged: the kiosk still gets a config it accepts)."""
    if not target.settings:
        return {}
    try:
        data = json.loads(target.settings)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        given = [name for name in SETTINGS if name in data]
        parsed = parse_config(json.dumps({"v": VERSION, **{name: data[name] for name in given}}).encode())
    except (ValueError, ContractError) as exc:  # ContractError is a ValueError; json's errors too
        log.error("kiosk settings of window %s are unusable, defaults sent instead: %s", target.window, exc)
        return {}
    if "scale" in given or "labels" in given:  # labels go with their scale: a scale alone gets its own defaults
        given = sorted(set(given) | {"scale", "labels"})
    return {name: getattr(parsed, name) for name in given}


def _fitted(config: Config, window: str) -> Config:
    """A kiosk refuses a config over 64 KiB: a roster too long for it is cut to the most that fits
    (with room left for the token)."""
    limit = MAX_CONFIG_BYTES - 512
    if len(config.to_json()) <= limit:
        return config
    fits, too_many = 0, len(config.roster)  # the first `fits` clerks fit, the first `too_many` do not
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if len(replace(config, roster=config.roster[:middle]).to_json()) <= limit:
            fits = middle
        else:
            too_many = middle
    log.error("the roster of %s is too long for one config: %d of %d clerks left off",
              window, len(config.roster) - fits, len(config.roster))
    return replace(config, roster=config.roster[:fits])


def version(config: Config) -> str:
    """A short hash of the config as built (before its token): what devices.config_sent holds.
    It begins with `content_version(config)`; the rest is the hash of its comment link."""
    link = hashlib.sha256((config.comment_url or "").encode()).hexdigest()[:8]
    return f"{content_version(config)}-{link}"


def content_version(config: Config) -> str:
    """The hash of everything in the config but its comment link: the first part of its version."""
    return hashlib.sha256(replace(config, comment_url=None).to_json()).hexdigest()[:24]


def is_sent(config: Config, sent: str | None) -> bool:
    """Whether a kiosk last sent version `sent` has `config`, whatever its comment link."""
    return sent is not None and sent.split("-")[0] == content_version(config)


def due(target: Target, config_version: str, now_ms: int, refresh_ms: int | None) -> bool:
    """Send when the kiosk's config changed, or when its token is due for a refresh (None: no token)."""
    if target.sent != config_version or target.sent_at is None:
        return True
    return refresh_ms is not None and now_ms - target.sent_at >= refresh_ms
