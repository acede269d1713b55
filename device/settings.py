"""The kiosk's own settings file (TOML), read once at start. See deploy/kiosk.example.toml."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shared.broker_url import TlsFiles, parse_broker_url
from shared.topics import DEVICE_PATTERN

from .core import Timing


class SettingsError(ValueError):
    pass


SCREEN_SIZES = ((800, 480), (1024, 600), (1280, 800))


@dataclass(frozen=True)
class KioskSettings:
    device: str
    window: str
    broker: str
    data_dir: Path
    username: str | None = None        # defaults to the device id
    password: str | None = None        # the broker password `ceval device add` wrote here
    ack_timeout: float = 10.0
    thanks_seconds: float = 3.0
    reasons_timeout: float = 15.0
    min_interval: float = 5.0
    comment_timeout: float = 45.0
    invite_mode: bool = False
    invite_seconds: float = 10.0
    language: str = "zh"               # until the server's config says otherwise
    font: str | None = None            # a CJK font file; found on the system when absent
    photo_dir: Path | None = None      # clerks' photos as <staff id>.png / .jpg
    width: int = 800
    height: int = 480
    fullscreen: bool = False
    gpio: dict[str, Any] = field(default_factory=dict)  # see device/gpio.py
    tls: TlsFiles | None = None        # [tls] ca_file, cert_file, key_file of an mqtts:// broker

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.json"

    @property
    def timing(self) -> Timing:
        return Timing(thanks_seconds=self.thanks_seconds, reasons_timeout=self.reasons_timeout,
                      min_interval=self.min_interval, comment_timeout=self.comment_timeout,
                      invite_seconds=self.invite_seconds)


_SECONDS = ("ack_timeout", "thanks_seconds", "reasons_timeout", "comment_timeout", "invite_seconds")


def load_settings(path: str | Path) -> KioskSettings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read kiosk config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"kiosk config {path} is not valid TOML: {exc}") from None
    try:
        return _validated(raw, path.parent)
    except SettingsError as exc:
        raise SettingsError(f"kiosk config {path}: {exc}") from None


def _validated(raw: dict[str, Any], base: Path) -> KioskSettings:
    unknown = set(raw) - {f.name for f in fields(KioskSettings)}
    if unknown:
        raise SettingsError(f"unknown keys {', '.join(sorted(unknown))}")
    for key in ("device", "window", "broker", "data_dir"):
        if key not in raw:
            raise SettingsError(f"'{key}' is required")
    for key in ("device", "window"):
        if not isinstance(raw[key], str) or not DEVICE_PATTERN.match(raw[key]):
            raise SettingsError(f"{key} {raw[key]!r} must match {DEVICE_PATTERN.pattern}")
    try:
        parse_broker_url(raw["broker"])
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    for key in _SECONDS:
        if key in raw and (not isinstance(raw[key], (int, float)) or isinstance(raw[key], bool) or raw[key] <= 0):
            raise SettingsError(f"{key} must be a positive number of seconds")
    if "min_interval" in raw and (not isinstance(raw["min_interval"], (int, float)) or raw["min_interval"] < 0):
        raise SettingsError("min_interval must be a number of seconds, 0 or more")
    for key in ("invite_mode", "fullscreen"):
        if key in raw and not isinstance(raw[key], bool):
            raise SettingsError(f"{key} must be true or false")
    if raw.get("language", "zh") not in ("zh", "en"):
        raise SettingsError("language must be 'zh' or 'en'")
    for key in ("width", "height"):
        if key in raw and (not isinstance(raw[key], int) or not 320 <= raw[key] <= 4096):
            raise SettingsError(f"{key} must be a whole number of pixels from 320 to 4096")
    if "gpio" in raw:
        from .gpio import GpioSettings  # validated here, so a bad pin stops the kiosk at start

        if not isinstance(raw["gpio"], dict):
            raise SettingsError("[gpio] must be a table")
        try:
            GpioSettings.from_toml(raw["gpio"])
        except ValueError as exc:
            raise SettingsError(str(exc)) from None  # it names the [gpio] key itself
    if "tls" in raw:
        raw["tls"] = _tls(raw["tls"], raw["broker"], base)
    raw["data_dir"] = (base / raw["data_dir"]).resolve()
    if raw.get("photo_dir"):
        raw["photo_dir"] = (base / raw["photo_dir"]).resolve()
    return KioskSettings(**raw)


def _tls(table: Any, broker: str, base: Path) -> TlsFiles:
    """The [tls] table: files of deploy/tls/make-certs.sh, relative to the config file's folder."""
    if not isinstance(table, dict):
        raise SettingsError("[tls] must be a table")
    unknown = set(table) - {"ca_file", "cert_file", "key_file"}
    if unknown:
        raise SettingsError(f"unknown keys in [tls]: {', '.join(sorted(unknown))}")
    if not parse_broker_url(broker).tls:
        raise SettingsError("[tls] is for an mqtts:// broker; broker is " + broker)
    for key, value in table.items():
        if not isinstance(value, str) or not value:
            raise SettingsError(f"[tls] {key} must be a file path")
    try:
        return TlsFiles(**{key: str((base / value).resolve()) for key, value in table.items()})
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
