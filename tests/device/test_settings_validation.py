"""Kiosk settings are checked for type and range, with an error naming the key (issue 11).

The local TOML file: TOML has `nan` and `inf`, and any key may hold a value of the wrong type;
each stops `ceval kiosk` with one line and exit status 2, never a TypeError later. The server's
retained config: a bad value is refused with a log line naming the key, and the kiosk keeps its
last good config.
"""
from __future__ import annotations

import logging

import paho.mqtt.client as mqtt
import pytest

from device.runtime import KioskRuntime
from device.settings import SECONDS, SettingsError, load_settings
from shared.clock import FakeClock
from shared.contract import Config

from ..helpers import ceval, connected_client, kiosk_settings, wait_for

BASE = 'device = "k-w03"\nwindow = "w03"\nbroker = "mqtt://10.0.0.2:1883"\ndata_dir = "data"\n'
BAD_VALUES = ["nan", "inf", "-inf", '"5"', "true", "[1, 2]", "{ a = 1 }", "1979-05-27T07:32:00Z", "-1", "1e9"]
KEYS = ["device", "window", "broker", "data_dir", "username", "password", "language", "font", "photo_dir",
        "width", "height", "fullscreen", "invite_mode", *SECONDS]


def write(tmp_path, text: str):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def with_value(key: str, value: str) -> str:
    lines = [line for line in BASE.splitlines() if not line.startswith(f"{key} =")]
    return "\n".join([f"{key} = {value}", *lines]) + "\n"


@pytest.mark.parametrize("key,value,message", [
    ("min_interval", "nan", "min_interval: must be a finite number of seconds between 0 and 60, got nan"),
    ("min_interval", "inf", "min_interval: must be a finite number of seconds between 0 and 60, got inf"),
    ("min_interval", "-1", "min_interval: must be a finite number of seconds between 0 and 60, got -1"),
    ("ack_timeout", "-inf", "ack_timeout: must be a finite number of seconds more than 0 and at most 300, got -inf"),
    ("thanks_seconds", '"3"', "thanks_seconds: must be a finite number of seconds more than 0 and at most 60, got '3'"),
    ("thanks_seconds", "0", "thanks_seconds: must be a finite number of seconds more than 0 and at most 60, got 0"),
    ("reasons_timeout", "true", "reasons_timeout: must be a finite number of seconds more than 0 and at most 300, "
                                "got True"),
    ("comment_timeout", "100000", "comment_timeout: must be a finite number of seconds more than 0 and at most 600"),
    ("data_dir", "5", "data_dir: must be a text of 1 to 1024 characters, got 5"),
    ("photo_dir", "[1]", "photo_dir: must be a text of 1 to 1024 characters, got [1]"),
    ("username", "7", "username: must be a text"),
    ("broker", "5", "broker: must be a text"),
    ("width", "800.5", "width: must be a whole number of pixels from 320 to 4096, got 800.5"),
    ("language", '"fr"', "language: must be 'zh' or 'en', got 'fr'"),
    ("fullscreen", '"yes"', "fullscreen: must be true or false, got 'yes'"),
])
def test_a_bad_value_is_refused_with_its_key(tmp_path, key, value, message):
    path = write(tmp_path, with_value(key, value))
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("key", KEYS)
def test_no_value_of_any_type_gets_past_the_check_or_crashes_it(tmp_path, key):
    """Every key with every odd TOML value: settings that work, or SettingsError naming the key."""
    for value in BAD_VALUES:
        path = write(tmp_path, with_value(key, value))
        try:
            settings = load_settings(path)
        except SettingsError as exc:
            assert f"{key}:" in str(exc) or f"'{key}'" in str(exc), (value, str(exc))
            continue
        number = getattr(settings, key)
        assert not isinstance(number, float) or number == number and abs(number) != float("inf"), (key, value)


def test_a_long_value_is_quoted_short(tmp_path):
    path = write(tmp_path, with_value("language", '"' + "x" * 100_000 + '"'))
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert len(str(error.value)) < 200 + len(str(path))


def test_the_example_and_good_values_still_load(tmp_path):
    settings = load_settings(write(tmp_path, BASE + "min_interval = 0\nack_timeout = 2.5\nthanks_seconds = 0.01\n"))
    assert (settings.min_interval, settings.ack_timeout, settings.thanks_seconds) == (0, 2.5, 0.01)


def test_ceval_kiosk_stops_with_one_line_and_status_2(tmp_path):
    path = write(tmp_path, with_value("min_interval", "nan"))
    result = ceval("kiosk", "--config", str(path), "--headless")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"ceval kiosk: kiosk config {path}: min_interval: must be a finite number of seconds between 0 and 60, got nan"]
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- the server's retained config
@pytest.mark.parametrize("payload,key", [
    (b'{"v": 1, "title": ["x"]}', "config title must be a string"),
    (b'{"v": 1, "title": "ok", "away_text": 5}', "config away_text must be a string"),
    (b'{"v": 1, "staff": {"id": "2048", "name": {"a": 1}}}', "config staff name must be a string"),
    (b'{"v": 1, "scale": NaN}', "NaN"),
    (b'{"v": 1, "scale": 4.0}', "config scale 4.0"),
    (b'{"v": 1, "labels": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}}', "config labels"),
    (b'{"v": 1, "reasons": "slow"}', "config reasons"),
    (b'{"v": 1, "phrases": [1, 2]}', "config phrases"),
    (b'{"v": 1, "roster": [{"id": "1", "name": "a", "pin": "1234"}]}', "config roster"),
    (b'{"v": 1, "title": ' + b"[" * 3000 + b"]" * 3000 + b"}", "nests"),
])
def test_a_bad_retained_config_is_refused_and_the_last_good_one_kept(tmp_path, broker, caplog, payload, key):
    device = "k-badcfg"
    good = Config(title="3号窗口", staff={"id": "1024", "name": "张敏"})
    settings = kiosk_settings(tmp_path, broker.url, device, "w03")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.config_path.write_bytes(good.to_json())
    runtime = KioskRuntime(settings, clock=FakeClock())
    server = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    with connected_client(broker, server):
        try:
            with caplog.at_level(logging.WARNING, logger="device.publisher"):
                server.publish(f"ceval/v1/{device}/config", payload, qos=1, retain=True).wait_for_publish(5)
                runtime.start()
                wait_for(lambda: "ignored a bad config" in caplog.text, 10, "the bad config to be refused")
            assert key in caplog.text
            assert runtime.kiosk.config == good and settings.config_path.read_bytes() == good.to_json()
            assert runtime.publisher.connected, "still connected and working"

            better = Config(title="5号窗口", staff={"id": "2048", "name": "王磊"})
            server.publish(f"ceval/v1/{device}/config", better.to_json(), qos=1, retain=True).wait_for_publish(5)
            wait_for(lambda: runtime.kiosk.config == better, 10, "the next good config to apply")
        finally:
            server.publish(f"ceval/v1/{device}/config", b"", qos=1, retain=True).wait_for_publish(5)
            runtime.stop()
