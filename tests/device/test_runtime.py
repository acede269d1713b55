"""The kiosk runtime put together: saved config, GPIO health in the status, buttons through the core."""
from __future__ import annotations

import json

from gpiozero.pins.mock import MockFactory

from device.runtime import KioskRuntime
from shared.clock import FakeClock
from shared.contract import Config

from ..helpers import kiosk_settings
from .pins import WiredPin


def make(tmp_path, **gpio):
    clock = FakeClock()
    pins = MockFactory(pin_class=WiredPin)
    settings = kiosk_settings(tmp_path, "mqtt://127.0.0.1:1", "k-rt", "w07", gpio=gpio)
    return KioskRuntime(settings, clock=clock, pin_factory=pins), clock, pins


def run(runtime, clock, seconds, step=0.02):
    for _ in range(round(seconds / step)):
        clock.advance(step)
        runtime.poll()


def events(runtime):
    return [json.loads(p) for _, p in runtime.outbox.pending(limit=1000)]


def test_the_last_config_is_used_when_the_server_is_away(tmp_path):
    runtime, _, _ = make(tmp_path)
    assert runtime.kiosk.config.title == "7号窗口"
    runtime._config_arrived(Config(title="七号窗口", staff={"id": "1024", "name": "张敏"}))
    runtime.stop()
    again, _, _ = make(tmp_path)
    assert again.kiosk.config.title == "七号窗口" and again.kiosk.staff == "1024"
    again.stop()


def test_physical_buttons_rate_through_the_core(tmp_path):
    runtime, clock, pins = make(tmp_path, buttons={"17": 5, "27": 1}, button_debounce=0.05)
    runtime.start()
    try:
        pins.pin(17).wire(False)  # pressed: to GND against the pull-up
        run(runtime, clock, 0.1)
        pins.pin(17).wire(True)
        run(runtime, clock, 0.1)
        ratings = [e for e in events(runtime) if e["type"] == "rating"]
        assert [(r["score"], r["scale"]) for r in ratings] == [(5, 5)]
    finally:
        runtime.stop()


def test_a_flapping_sensor_is_reported_in_the_status(tmp_path):
    runtime, clock, pins = make(tmp_path, sign_pin=4, flap_changes=10, flap_window=5.0)
    runtime.start()
    try:
        assert runtime._status().sensor == "ok"
        for i in range(30):
            pins.pin(4).wire(i % 2 == 0)
            run(runtime, clock, 0.04)
        assert runtime.sensor == "flapping"
        assert json.loads(runtime._status().to_json())["sensor"] == "flapping"
    finally:
        runtime.stop()


def test_an_unplugged_sensor_is_reported_and_does_not_fake_an_absence(tmp_path):
    runtime, clock, pins = make(tmp_path, sign_pin=4, cable_pin=5)
    pins.pin(5).unplug()
    runtime.start()
    try:
        run(runtime, clock, 0.3)
        assert runtime.sensor == "unplugged"
        assert [e["state"] for e in events(runtime) if e["type"] == "presence"] == ["present"]
    finally:
        runtime.stop()
