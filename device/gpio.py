"""The kiosk's GPIO inputs through gpiozero: the away sign's sensor, rating buttons, the clerk's 请评价 button.

This is the thin adapter around `device.debounce`. gpiozero calls our
callbacks on its own thread; they do nothing but feed a `Debouncer` (and, for
the away sign's sensor, its `FlapDetector`) with `clock.monotonic()`, under a
lock. The kiosk's main loop calls `poll()` every ~20 ms and gets typed events
back (`SignChanged`, `ScorePressed`, `InvitePressed`, `SensorHealth`), which
the runtime turns into `kiosk.sign(...)`, `kiosk.press(...)`,
`kiosk.invite()` and its status. `poll()` also reads
every pin once, so an edge gpiozero never reported is still seen and a pin
that cannot be read is noticed. `close()` releases the pins.

Wiring (BCM numbers, header pin in brackets; GPIO pins take 3.3 V, never 5 V)
-----------------------------------------------------------------------------
Away sign: a reed switch under the sign's place on the counter and a magnet in
the sign's foot (or a Hall-effect module with an open-drain output)::

    GPIO4 [7] ──── reed switch ──── GND [9]

With the defaults (``sign_pull = "up"``, active low) the sign's magnet closes
the switch and pulls the pin low; no sign, the internal pull-up holds it high.

- A normally-closed contact, or a sensor that *opens* while the sign stands on
  it: keep the pull-up and set ``sign_active_high = true``.
- A switch to 3V3 [1] instead of GND: ``sign_pull = "down"`` (active high).
- A sensor module driving its own 3.3 V push-pull output: ``sign_pull =
  "none"`` and ``sign_active_high`` as its datasheet says (required then).

Cable detect (optional, ``cable_pin``): one more conductor in the sensor's
cable, joined to the cable's GND conductor *at the sensor end*, so the loop
runs through both plugs and the whole cable::

    GPIO5 [29] ──── cable ────┐
                              │  (joined inside the sensor housing)
    GND  [30]  ──── cable ────┘

The cable pin is always pulled up and active low: plugged in, the loop holds it
low; unplugged or cut, the pull-up takes it high and the health becomes
"unplugged". While the sensor is unplugged the sign's state is frozen (the pull
resistor, not the sign, decides what a loose sensor pin reads); a change found
when the cable comes back is reported then. Without a cable-detect pin, a
sensor pin that raises when read counts as unplugged, and a loose sensor on a
floating pin usually shows up as "flapping".

Buttons: each between its GPIO and GND, with the internal pull-up
(``button_pull = "up"``, pressed = low), e.g. 非常满意 GPIO17 [11], 满意
GPIO27 [13], 基本满意 GPIO22 [15], 不满意 GPIO23 [16], 非常不满意 GPIO24 [18],
and the clerk's 请评价 button on GPIO25 [22]. GND on [6] [9] [14] [20] [25]
[30] [34] [39]. Leave GPIO2/3 (fixed 1.8 kΩ pull-ups for I²C) and GPIO0/1 (the
HAT EEPROM) free. A Pi 5 needs ``GPIOZERO_PIN_FACTORY=lgpio``.

Configuration: the ``[gpio]`` section of kiosk.toml, read by `GpioSettings`.
"""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from gpiozero import DigitalInputDevice
from gpiozero.pins import Factory

from shared.clock import Clock

from .debounce import Debouncer, FlapDetector

log = logging.getLogger(__name__)

__all__ = [
    "SignChanged", "ScorePressed", "InvitePressed", "SensorHealth", "GpioEvent", "GpioSettings",
    "AwaySign", "ScoreButtons", "InviteButton", "GpioInputs",
]

PULLS = ("up", "down", "none")
BCM_PINS = range(0, 28)
BUTTON_SCORES = range(1, 6)
MAX_DEBOUNCE = 10.0


# ---------------------------------------------------------------- events
@dataclass(frozen=True)
class SignChanged:
    """The away sign was put out (away=True) or taken back (away=False), debounced."""
    away: bool


@dataclass(frozen=True)
class ScorePressed:
    """A rating button was pressed (one per press-and-release)."""
    score: int


@dataclass(frozen=True)
class InvitePressed:
    """The clerk pressed 请评价."""


@dataclass(frozen=True)
class SensorHealth:
    """The away-sign sensor's health changed: "ok" | "flapping" | "unplugged"."""
    state: str


GpioEvent = SignChanged | ScorePressed | InvitePressed | SensorHealth


# ---------------------------------------------------------------- settings
def _active_high(pull: str, active_high: bool | None, key: str) -> bool:
    """The active level, defaulting the way gpiozero does: low with a pull-up, high with a pull-down."""
    if active_high is None:
        if pull == "none":
            raise ValueError(f'gpio: {key} is required when the pull is "none"')
        return pull == "down"
    if not isinstance(active_high, bool):
        raise ValueError(f"gpio: {key} must be true or false, not {active_high!r}")
    return active_high


def _check_pin(key: str, pin: Any) -> None:
    if isinstance(pin, bool) or not isinstance(pin, int) or pin not in BCM_PINS:
        raise ValueError(f"gpio: {key} {pin!r} is not a GPIO number from 0 to 27 "
                         "(BCM numbering, not the header's pin number)")


def _check_pull(key: str, pull: Any) -> None:
    if pull not in PULLS:
        raise ValueError(f"gpio: {key} {pull!r} must be one of {', '.join(map(repr, PULLS))}")


def _check_seconds(key: str, value: Any, upper: float | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value <= 0 or (upper is not None and value > upper)):
        limit = f" up to {upper:g}" if upper is not None else ""
        raise ValueError(f"gpio: {key} {value!r} must be a positive number of seconds{limit}")


def _check_scores(buttons: Mapping[int, int]) -> None:
    by_score: dict[int, int] = {}
    for pin, score in buttons.items():
        _check_pin("buttons pin", pin)
        if isinstance(score, bool) or not isinstance(score, int) or score not in BUTTON_SCORES:
            raise ValueError(f"gpio: button on pin {pin} has score {score!r}; scores are whole numbers from 1 to 5")
        if score in by_score:
            raise ValueError(f"gpio: score {score} is on two buttons (pins {by_score[score]} and {pin})")
        by_score[score] = pin


@dataclass(frozen=True)
class GpioSettings:
    """The ``[gpio]`` section of kiosk.toml. Every key is optional; no section means no GPIO at all.

    ::

        [gpio]
        sign_pin = 4                # BCM number of the away-sign sensor; leave out for none
        sign_pull = "up"            # "up" | "down" | "none"
        sign_active_high = false    # the level while the sign stands on the sensor; defaults to
                                    # false with "up", true with "down"; required with "none"
        sign_debounce = 0.2         # seconds a level must hold before it counts
        cable_pin = 5               # optional cable-detect loop (pulled up; plugged in = low)
        flap_changes = 10           # more than this many raw changes of the sensor ...
        flap_window = 5.0           # ... within this many seconds is "flapping"
        buttons = { 17 = 5, 27 = 4, 22 = 3, 23 = 2, 24 = 1 }   # BCM pin = score (1..5)
        button_pull = "up"          # for all rating buttons and the invite button
        button_active_high = false  # same defaults as sign_active_high
        button_debounce = 0.05      # a press counts once held this long
        invite_pin = 25             # the clerk's 请评价 button; leave out for none

    Direct construction validates too; `sign_active_high` and
    `button_active_high` are resolved to booleans from the pull when left None.
    """

    sign_pin: int | None = None
    sign_pull: str = "up"
    sign_active_high: bool | None = None
    sign_debounce: float = 0.2
    cable_pin: int | None = None
    flap_changes: int = 10
    flap_window: float = 5.0
    buttons: Mapping[int, int] = field(default_factory=dict)
    button_pull: str = "up"
    button_active_high: bool | None = None
    button_debounce: float = 0.05
    invite_pin: int | None = None

    def __post_init__(self):
        for key in ("sign_pin", "cable_pin", "invite_pin"):
            if getattr(self, key) is not None:
                _check_pin(key, getattr(self, key))
        _check_pull("sign_pull", self.sign_pull)
        _check_pull("button_pull", self.button_pull)
        object.__setattr__(self, "sign_active_high",
                           _active_high(self.sign_pull, self.sign_active_high, "sign_active_high"))
        object.__setattr__(self, "button_active_high",
                           _active_high(self.button_pull, self.button_active_high, "button_active_high"))
        _check_seconds("sign_debounce", self.sign_debounce, MAX_DEBOUNCE)
        _check_seconds("button_debounce", self.button_debounce, MAX_DEBOUNCE)
        _check_seconds("flap_window", self.flap_window)
        if isinstance(self.flap_changes, bool) or not isinstance(self.flap_changes, int) or self.flap_changes < 1:
            raise ValueError(f"gpio: flap_changes {self.flap_changes!r} must be a whole number >= 1")
        if not isinstance(self.buttons, Mapping):
            raise ValueError("gpio: buttons must be a table of pin = score")
        _check_scores(self.buttons)
        object.__setattr__(self, "buttons", dict(self.buttons))
        if self.cable_pin is not None and self.sign_pin is None:
            raise ValueError("gpio: cable_pin needs sign_pin (it watches the away sign's cable)")
        used: dict[int, str] = {}
        named = [("sign_pin", self.sign_pin), ("cable_pin", self.cable_pin), ("invite_pin", self.invite_pin)]
        named += [(f"the score-{score} button", pin) for pin, score in self.buttons.items()]
        for key, pin in named:
            if pin is None:
                continue
            if pin in used:
                raise ValueError(f"gpio: GPIO{pin} is used twice ({used[pin]} and {key})")
            used[pin] = key

    @property
    def enabled(self) -> bool:
        """True when any input is configured."""
        return self.sign_pin is not None or bool(self.buttons) or self.invite_pin is not None

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any]) -> GpioSettings:
        """From the parsed ``[gpio]`` table; raises ValueError with a message naming the key."""
        if not isinstance(raw, Mapping):
            raise ValueError("gpio: the [gpio] section must be a table")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"gpio: unknown keys {', '.join(unknown)}")
        values = dict(raw)
        if "buttons" in values:
            buttons = values["buttons"]
            if not isinstance(buttons, Mapping):
                raise ValueError("gpio: buttons must be a table of pin = score, e.g. { 17 = 5, 27 = 4 }")
            values["buttons"] = {_pin_key(key): score for key, score in buttons.items()}
        return cls(**values)


def _pin_key(key: Any) -> int:
    """A buttons key: TOML keys are strings ("17"); a dict from Python may use ints."""
    if isinstance(key, str) and key.isascii() and key.isdigit():
        return int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    raise ValueError(f"gpio: buttons key {key!r} is not a GPIO number (BCM numbering)")


# ---------------------------------------------------------------- one debounced line
def _gpiozero_polarity(pull: str, active_high: bool) -> tuple[bool | None, bool | None, bool]:
    """gpiozero's pull_up and active_state for a pull and an active level, and whether to invert is_active.

    With a pull resistor gpiozero fixes the active level itself (low with "up",
    high with "down"); a sensor active the other way round is inverted here.
    """
    if pull == "none":
        return None, active_high, False
    pull_up = pull == "up"
    return pull_up, None, active_high == pull_up


class _Line:
    """One gpiozero input whose callbacks only feed a Debouncer (under the owner's lock)."""

    def __init__(self, device_class: type, pin: int, pull: str, active_high: bool, debounce: float,
                 clock: Clock, pin_factory: Factory | None, lock: threading.Lock,
                 on_change: Callable[[float], None] | None = None):
        pull_up, active_state, self._invert = _gpiozero_polarity(pull, active_high)
        self.pin = pin
        self.read_error: Exception | None = None
        self._clock = clock
        self._lock = lock
        self._on_change = on_change
        self.device = device_class(pin, pull_up=pull_up, active_state=active_state, pin_factory=pin_factory)
        try:
            self.debouncer = Debouncer(debounce, self.read())
            self.device.when_activated = self._activated
            self.device.when_deactivated = self._deactivated
        except BaseException:
            self.device.close()
            raise

    def read(self) -> bool:
        """Active (True) or not, read from the pin now; raises what the pin factory raises."""
        return self.device.is_active != self._invert

    # These two run on gpiozero's thread: take the time, feed, nothing else.
    def _activated(self) -> None:
        self._feed(not self._invert, self._clock.monotonic())

    def _deactivated(self) -> None:
        self._feed(self._invert, self._clock.monotonic())

    def _feed(self, level: bool, now: float) -> None:
        with self._lock:
            if self.debouncer.feed(level, now) and self._on_change is not None:
                self._on_change(now)

    def sample(self, now: float) -> bool:
        """Read the pin and feed the level (`now` taken before the read); False if it cannot be read."""
        try:
            level = self.read()
        except Exception as exc:  # whatever the pin factory raises: lgpio.error, OSError, PinError ...
            if self.read_error is None:
                log.warning("GPIO%d cannot be read: %r", self.pin, exc)
            self.read_error = exc
            return False
        if self.read_error is not None:
            log.info("GPIO%d can be read again", self.pin)
            self.read_error = None
        self._feed(level, now)
        return True

    def close(self) -> None:
        self.device.close()


# ---------------------------------------------------------------- the away sign
class AwaySign:
    """The away-sign sensor, debounced, with its health ("ok" | "flapping" | "unplugged").

    `away` is the state to state at start (read from the pin when constructed)
    and afterwards the last state `poll` reported. `health` likewise. While
    "unplugged", `away` stays what it was; when the sensor is unplugged
    already at start, `away` is whatever the pin read and means nothing.
    Constructing raises what gpiozero raises when a pin cannot be claimed.
    """

    def __init__(self, pin: int, *, clock: Clock, pull: str = "up", active_high: bool | None = None,
                 debounce: float = 0.2, cable_pin: int | None = None, flap_changes: int = 10,
                 flap_window: float = 5.0, pin_factory: Factory | None = None):
        _check_pull("sign_pull", pull)
        active = _active_high(pull, active_high, "sign_active_high")
        self._clock = clock
        self._lock = threading.Lock()
        self._flap = FlapDetector(flap_changes, flap_window)
        self._closed = False
        self._sensor = _Line(DigitalInputDevice, pin, pull, active, debounce, clock, pin_factory, self._lock,
                             on_change=self._flap.record)
        self._cable: _Line | None = None
        if cable_pin is not None:
            try:
                self._cable = _Line(DigitalInputDevice, cable_pin, "up", False, debounce, clock, pin_factory,
                                    self._lock)
            except BaseException:
                self._sensor.close()
                raise
        self._away = self._sensor.debouncer.level
        self._health = "ok" if self._cable is None or self._cable.debouncer.level else "unplugged"

    @property
    def away(self) -> bool:
        return self._away

    @property
    def health(self) -> str:
        return self._health

    def poll(self) -> list[SignChanged | SensorHealth]:
        """Call every ~20 ms from the main loop: health first, then sign changes, oldest first."""
        if self._closed:
            return []
        now = self._clock.monotonic()
        readable = self._sensor.sample(now)
        if self._cable is not None and not self._cable.sample(now):
            readable = False
        with self._lock:
            changes = _drain(self._sensor.debouncer, now)
            level = self._sensor.debouncer.level
            plugged = plugged_now = readable
            if self._cable is not None:
                _drain(self._cable.debouncer, now)
                plugged = readable and self._cable.debouncer.level
                # Hold sign changes while the loop is even briefly open: the sensor's
                # contacts may break a few ms before the loop's when a plug is pulled.
                plugged_now = plugged and self._cable.debouncer.raw
            flapping = self._flap.update(now)
        events: list[SignChanged | SensorHealth] = []
        health = "unplugged" if not plugged else "flapping" if flapping else "ok"
        if health != self._health:
            log.info("away-sign sensor: %s", health)
            self._health = health
            events.append(SensorHealth(health))
        if plugged_now:
            for away in [*changes, level]:
                if away != self._away:
                    self._away = away
                    events.append(SignChanged(away))
        return events

    def close(self) -> None:
        """Release the pins; idempotent."""
        self._closed = True
        for line in (self._cable, self._sensor):
            if line is not None:
                line.close()


def _drain(debouncer: Debouncer, now: float) -> list[bool]:
    changes = []
    while (level := debouncer.poll(now)) is not None:
        changes.append(level)
    return changes


# ---------------------------------------------------------------- buttons
class _Buttons:
    """Push buttons, each giving its event once per debounced press.

    Each is a gpiozero `DigitalInputDevice`, which is what `gpiozero.Button` is
    minus its hold thread: `Button` starts a thread per button for `when_held`,
    which we do not use, and its `close()` then waits up to `hold_time` (1 s)
    while the button is down.
    """

    def __init__(self, events: Mapping[int, ScorePressed | InvitePressed], *, clock: Clock, pull: str,
                 active_high: bool | None, debounce: float, pin_factory: Factory | None):
        _check_pull("button_pull", pull)
        active = _active_high(pull, active_high, "button_active_high")
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._lines: list[tuple[_Line, ScorePressed | InvitePressed]] = []
        try:
            for pin, event in events.items():
                line = _Line(DigitalInputDevice, pin, pull, active, debounce, clock, pin_factory, self._lock)
                self._lines.append((line, event))
                if line.debouncer.level:
                    log.warning("the button on GPIO%d is pressed at start (stuck?); it counts once released", pin)
        except BaseException:
            self.close()
            raise

    def poll(self) -> list:
        """Call every ~20 ms from the main loop: one event per press, in the order they became stable."""
        if self._closed:
            return []
        now = self._clock.monotonic()
        for line, _ in self._lines:
            line.sample(now)
        presses = []
        with self._lock:
            for line, event in self._lines:
                while (change := line.debouncer.poll_timed(now)) is not None:
                    pressed, at = change
                    if pressed:
                        presses.append((at, event))
        presses.sort(key=lambda p: p[0])
        return [event for _, event in presses]

    def close(self) -> None:
        """Release the pins; idempotent."""
        self._closed = True
        for line, _ in self._lines:
            line.close()


class ScoreButtons(_Buttons):
    """Rating buttons: ``{pin: score}``, e.g. ``{17: 5, 27: 4, 22: 3, 23: 2, 24: 1}``."""

    def __init__(self, scores: Mapping[int, int], *, clock: Clock, pull: str = "up",
                 active_high: bool | None = None, debounce: float = 0.05, pin_factory: Factory | None = None):
        _check_scores(scores)
        super().__init__({pin: ScorePressed(score) for pin, score in scores.items()}, clock=clock, pull=pull,
                         active_high=active_high, debounce=debounce, pin_factory=pin_factory)

    def poll(self) -> list[ScorePressed]:
        return super().poll()


class InviteButton(_Buttons):
    """The clerk's 请评价 button."""

    def __init__(self, pin: int, *, clock: Clock, pull: str = "up", active_high: bool | None = None,
                 debounce: float = 0.05, pin_factory: Factory | None = None):
        super().__init__({pin: InvitePressed()}, clock=clock, pull=pull, active_high=active_high,
                         debounce=debounce, pin_factory=pin_factory)

    def poll(self) -> list[InvitePressed]:
        return super().poll()


# ---------------------------------------------------------------- all of a kiosk's inputs
class GpioInputs:
    """Every input `GpioSettings` names, polled together.

    `poll()` returns the away sign's events first, then the invite button's,
    then the rating buttons'. Without a sensor, `away` is False and `health`
    is "ok".
    """

    def __init__(self, settings: GpioSettings, clock: Clock, pin_factory: Factory | None = None):
        self.sign: AwaySign | None = None
        self.buttons: ScoreButtons | None = None
        self.invite: InviteButton | None = None
        try:
            if settings.sign_pin is not None:
                self.sign = AwaySign(settings.sign_pin, clock=clock, pull=settings.sign_pull,
                                     active_high=settings.sign_active_high, debounce=settings.sign_debounce,
                                     cable_pin=settings.cable_pin, flap_changes=settings.flap_changes,
                                     flap_window=settings.flap_window, pin_factory=pin_factory)
            if settings.invite_pin is not None:
                self.invite = InviteButton(settings.invite_pin, clock=clock, pull=settings.button_pull,
                                           active_high=settings.button_active_high,
                                           debounce=settings.button_debounce, pin_factory=pin_factory)
            if settings.buttons:
                self.buttons = ScoreButtons(settings.buttons, clock=clock, pull=settings.button_pull,
                                            active_high=settings.button_active_high,
                                            debounce=settings.button_debounce, pin_factory=pin_factory)
        except BaseException:
            self.close()
            raise

    @property
    def away(self) -> bool:
        return self.sign.away if self.sign is not None else False

    @property
    def health(self) -> str:
        return self.sign.health if self.sign is not None else "ok"

    def poll(self) -> list[GpioEvent]:
        events: list[GpioEvent] = []
        for part in (self.sign, self.invite, self.buttons):
            if part is not None:
                events.extend(part.poll())
        return events

    def close(self) -> None:
        for part in (self.buttons, self.invite, self.sign):
            if part is not None:
                part.close()
