"""Real Kivy widgets for the kiosk's tests: one offscreen window per test session (no DISPLAY)."""
from __future__ import annotations

import json
import os
import tempfile

import pytest

# Before anything imports Kivy: its home, no argument parsing, logging through Python's.
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.pop("DISPLAY", None)

from device import screens  # noqa: E402
from device.preview import KioskPreview  # noqa: E402
from device.settings import KioskSettings  # noqa: E402
from shared.clock import FakeClock  # noqa: E402

from ..helpers import wait_for  # noqa: E402
from .pins import WiredPin  # noqa: E402


@pytest.fixture
def clock():
    """The kiosk's clock, moved by the test."""
    return FakeClock()


@pytest.fixture(scope="session")
def kivy_window(tmp_path_factory):
    from device.fonts import find_cjk_font
    from device.preview import open_window

    return open_window(KioskSettings(device="k-test", window="w01", broker="mqtt://127.0.0.1:1",
                                     data_dir=tmp_path_factory.mktemp("unused")), find_cjk_font())


class KioskScreen(KioskPreview):
    """A running kiosk app in the session's window, driven by touches and mock pins."""

    def until(self, condition, timeout: float = 5.0, what: str = "the screen"):
        return wait_for(lambda: self.frames(1) or condition(), timeout, what, interval=0)

    def rating_buttons(self) -> list:
        return list(reversed(self.screen(screens.READY).ids.buttons.children))  # left to right

    def chips(self) -> list:
        return list(reversed(self.screen(screens.RATED).ids.chips.children))

    def tap(self, widget, twice_at_once: bool = False) -> None:
        """A finger on the widget's centre; `twice_at_once`: the same touch reported by two providers."""
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touches = [UnitTestTouch(x, y) for _ in range(2 if twice_at_once else 1)]
        for touch in touches:
            touch.touch_down()
        self.frames(1)
        for touch in touches:
            touch.touch_up()
        self.frames(2)

    def events(self) -> list[dict]:
        return [json.loads(payload) for _, payload in self.runtime.outbox.pending(limit=10_000)]

    def ratings(self) -> list[dict]:
        return [e for e in self.events() if e["type"] == "rating"]

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.frames(3)


@pytest.fixture
def make_screen(kivy_window, tmp_path):
    """Build a kiosk app on a fresh data folder; a fake clock, mock pins, an unreachable broker by default."""
    from gpiozero.pins.mock import MockFactory

    made = []

    def make(config=None, broker: str = "mqtt://127.0.0.1:1", size=(800, 480), sign_out: bool = False,
             **settings) -> KioskScreen:
        pins = MockFactory(pin_class=WiredPin)
        if sign_out:
            pins.pin(4).wire(False)  # the sign stands on its reed switch: the pin is held low
        base = dict(device="k-test", window="w03", broker=broker, data_dir=tmp_path / f"kiosk{len(made)}",
                    thanks_seconds=3.0, min_interval=5.0, gpio={"sign_pin": 4, "sign_debounce": 0.2})
        settings = KioskSettings(**{**base, **settings})
        # `config`: the last config the kiosk received, as it keeps it on disk
        screen = KioskScreen.build(kivy_window, settings, config, size, clock=FakeClock(), pin_factory=pins)
        made.append(screen)
        screen.until(lambda: screen.current == screen.kiosk.shown and screen.rating_buttons(), 5, "the app")
        return screen

    yield make
    for screen in made:
        screen.close()
