"""The kiosk's own settings file (TOML), read once at start.

    device = "k-w03"                # MQTT client id and user name
    window = "w03"                  # the window this kiosk serves
    broker = "mqtt://10.0.0.2:1883"
    username = "k-w03"              # defaults to the device id, as the contract wants
    password = "..."                # or CEVAL_MQTT_PASSWORD in the environment
    data_dir = "/var/lib/ceval-kiosk"
    ack_timeout = 10                # seconds before unacknowledged events go again
    thanks_seconds = 3
    reasons_timeout = 15
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from shared.broker_url import parse_broker_url
from shared.topics import DEVICE_PATTERN


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class KioskSettings:
    device: str
    window: str
    broker: str
    data_dir: Path
    username: str | None = None
    password: str | None = None
    ack_timeout: float = 10.0
    thanks_seconds: float = 3.0
    reasons_timeout: float = 15.0

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.json"


def load_settings(path: str | Path) -> KioskSettings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read kiosk config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"kiosk config {path} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(KioskSettings)}
    unknown = set(raw) - known
    if unknown:
        raise SettingsError(f"kiosk config {path}: unknown keys {', '.join(sorted(unknown))}")
    for key in ("device", "window", "broker", "data_dir"):
        if key not in raw:
            raise SettingsError(f"kiosk config {path}: '{key}' is required")
    for key in ("device", "window"):
        if not isinstance(raw[key], str) or not DEVICE_PATTERN.match(raw[key]):
            raise SettingsError(f"kiosk config {path}: {key} {raw[key]!r} must match {DEVICE_PATTERN.pattern}")
    try:
        parse_broker_url(raw["broker"])
    except ValueError as exc:
        raise SettingsError(f"kiosk config {path}: {exc}") from None
    raw["data_dir"] = (path.parent / raw["data_dir"]).resolve()
    raw.setdefault("password", os.environ.get("CEVAL_MQTT_PASSWORD"))
    for key in ("ack_timeout", "thanks_seconds", "reasons_timeout"):
        if key in raw and (not isinstance(raw[key], (int, float)) or raw[key] <= 0):
            raise SettingsError(f"kiosk config {path}: {key} must be a positive number of seconds")
    return KioskSettings(**raw)
