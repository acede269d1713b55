"""The kiosk's own settings file (TOML), read once at start. See deploy/kiosk.example.toml.

Every value is checked for its type and range before the kiosk starts: a bad one stops
`ceval kiosk` with one line naming the file and the key (exit status 2).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shared.broker_url import TlsFiles, parse_broker_url
from shared.quote import quoted
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


# Seconds settings: the most each may be; each must be more than 0, but min_interval may be 0 (no guard).
SECONDS = {
    "ack_timeout": 300.0,       # the wait doubles up to 300 s while the server stays away
    "thanks_seconds": 60.0,
    "reasons_timeout": 300.0,
    "min_interval": 60.0,
    "comment_timeout": 600.0,
    "invite_seconds": 600.0,
}
PIXELS = (320, 4096)
MAX_TEXT = 1024  # characters of a user name, a password or a path


def load_settings(path: str | Path) -> KioskSettings:
    """The kiosk's settings from its TOML file; SettingsError (one line, naming the file and the key) if bad."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read kiosk config {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"kiosk config {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"kiosk config {path} is not valid TOML: {exc}") from None
    try:
        return _validated(raw, path.parent)
    except SettingsError as exc:
        raise SettingsError(f"kiosk config {path}: {exc}") from None


def _validated(raw: dict[str, Any], base: Path) -> KioskSettings:
    unknown = set(raw) - {f.name for f in fields(KioskSettings)}
    if unknown:
        raise SettingsError(f"unknown keys {', '.join(sorted(quoted(key) for key in unknown))}")
    for key in ("device", "window", "broker", "data_dir"):
        if key not in raw:
            raise SettingsError(f"'{key}' is required")
    for key in ("device", "window"):
        if not isinstance(raw[key], str) or not DEVICE_PATTERN.match(raw[key]):
            raise SettingsError(f"{key}: must match {DEVICE_PATTERN.pattern}, got {quoted(raw[key])}")
    _text(raw, "broker")
    try:
        parse_broker_url(raw["broker"])
    except ValueError as exc:
        raise SettingsError(f"broker: {exc}") from None
    for key in ("data_dir", "username", "password", "font", "photo_dir"):
        if key in raw:
            _text(raw, key)
    for key, most in SECONDS.items():
        if key in raw:
            _seconds(key, raw[key], most, zero=key == "min_interval")
    for key in ("invite_mode", "fullscreen"):
        if key in raw and not isinstance(raw[key], bool):
            raise SettingsError(f"{key}: must be true or false, got {quoted(raw[key])}")
    if raw.get("language", "zh") not in ("zh", "en"):
        raise SettingsError(f"language: must be 'zh' or 'en', got {quoted(raw['language'])}")
    for key in ("width", "height"):
        if key in raw and (not _is_int(raw[key]) or not PIXELS[0] <= raw[key] <= PIXELS[1]):
            raise SettingsError(f"{key}: must be a whole number of pixels from {PIXELS[0]} to {PIXELS[1]}, "
                                f"got {quoted(raw[key])}")
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(key: str, value: Any, most: float, zero: bool) -> None:
    """A finite number of seconds up to `most`, more than 0 (or 0 too when `zero`): TOML's nan and inf,
    strings and booleans are refused."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and (0 <= value if zero else 0 < value) and value <= most):
        span = f"between 0 and {most:g}" if zero else f"more than 0 and at most {most:g}"
        raise SettingsError(f"{key}: must be a finite number of seconds {span}, got {quoted(value)}")


def _text(raw: dict[str, Any], key: str) -> None:
    value = raw[key]
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or "\0" in value:
        raise SettingsError(f"{key}: must be a text of 1 to {MAX_TEXT} characters, got {quoted(value)}")


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
