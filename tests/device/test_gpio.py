"""The GPIO adapter on gpiozero's MockFactory with a FakeClock: pins are driven, time is advanced, nothing sleeps."""
from __future__ import annotations

import random
import tomllib

import pytest
from gpiozero import DigitalInputDevice
from gpiozero.exc import GPIOPinInUse
from gpiozero.pins.mock import MockFactory

from device.gpio import (
    AwaySign,
    GpioInputs,
    GpioSettings,
    InviteButton,
    InvitePressed,
    ScoreButtons,
    ScorePressed,
    SensorHealth,
    SignChanged,
)
from shared.clock import FakeClock

from .pins import WiredPin


@pytest.fixture
def factory():
    f = MockFactory(pin_class=WiredPin)
    yield f
    f.reset()


@pytest.fixture
def closing():
    """Close every input a test opened, even when it fails."""
    opened = []

    def track(thing):
        opened.append(thing)
        return thing

    yield track
    for thing in reversed(opened):
        thing.close()


def run(clock: FakeClock, source, seconds: float, step: float = 0.02) -> list:
    """Let `seconds` pass in main-loop ticks of `step`, polling after each; all events, in order."""
    events = []
    ticks = round(seconds / step)
    for _ in range(ticks):
        clock.advance(step)
        events.extend(source.poll())
    return events


# ---------------------------------------------------------------- the away sign: state at start
@pytest.mark.parametrize("pull", ["up", "down", "none"])
@pytest.mark.parametrize("active_high", [True, False])
@pytest.mark.parametrize("sign_there", [True, False])
def test_start_state_is_read_for_every_pull_and_active_level(factory, clock, closing, pull, active_high, sign_there):
    factory.pin(4).wire(active_high if sign_there else not active_high)
    sign = closing(AwaySign(4, clock=clock, pull=pull, active_high=active_high, pin_factory=factory))
    assert sign.away is sign_there
    assert sign.health == "ok"
    assert factory.pin(4).pull == {"up": "up", "down": "down", "none": "floating"}[pull]
    assert run(clock, sign, 1.0) == []


@pytest.mark.parametrize("pull", ["up", "down"])
def test_an_idle_sensor_reads_present_with_the_default_active_level(factory, clock, closing, pull):
    sign = closing(AwaySign(4, clock=clock, pull=pull, pin_factory=factory))
    assert sign.away is False
    factory.pin(4).wire(pull == "down")  # the switch closes: to GND with a pull-up, to 3V3 with a pull-down
    assert run(clock, sign, 0.3) == [SignChanged(True)]


def test_a_floating_pin_needs_its_active_level(factory, clock):
    with pytest.raises(ValueError, match="sign_active_high is required"):
        AwaySign(4, clock=clock, pull="none", pin_factory=factory)


# ---------------------------------------------------------------- the away sign: debouncing
@pytest.fixture
def sign(factory, clock, closing):
    """Reed switch to GND, pull-up, active low; no sign at start."""
    return closing(AwaySign(4, clock=clock, debounce=0.2, pin_factory=factory))


def test_a_bounce_shorter_than_the_stable_time_is_ignored(factory, clock, sign):
    pin = factory.pin(4)
    pin.wire(False)
    clock.advance(0.15)
    assert sign.poll() == []
    pin.wire(True)
    assert run(clock, sign, 2.0) == []
    assert sign.away is False


def test_a_stable_change_gives_exactly_one_event(factory, clock, sign):
    pin = factory.pin(4)
    for level, gap in [(False, 0.01), (True, 0.03), (False, 0.005), (True, 0.05), (False, 0.0)]:
        pin.wire(level)  # the sign is put down: the contact bounces
        clock.advance(gap)
    assert run(clock, sign, 0.18) == []
    assert run(clock, sign, 0.04) == [SignChanged(True)]
    assert run(clock, sign, 3.0) == []
    assert sign.away is True
    pin.wire(True)  # and taken back
    assert run(clock, sign, 0.3) == [SignChanged(False)]
    assert sign.away is False


def test_an_edge_gpiozero_never_reported_is_still_seen(factory, clock, sign):
    factory.pin(4).set_silently(False)  # a lost interrupt: no callback, the level changed all the same
    assert run(clock, sign, 0.3) == [SignChanged(True)]


def test_debounce_10000_random_bursty_toggles_settle_on_the_true_state(factory, clock, closing):
    """THE acceptance test: every real change of the sign, wrapped in random bounces shorter than the
    stable time, driven through a MockFactory pin, gives exactly one SignChanged, in order."""
    rng = random.Random(20261123)
    stable_ms = 200
    sign = closing(AwaySign(4, clock=clock, debounce=stable_ms / 1000, pin_factory=factory))
    pin = factory.pin(4)
    emitted: list[bool] = []

    def put(away: bool) -> None:
        pin.wire(not away)  # active low

    def wait(ms: int) -> None:
        """Time passes; the main loop polls at the end, and now and then somewhere in between too."""
        first = rng.randint(0, ms) if rng.random() < 0.4 else 0
        for step in (first, ms - first):
            if step:
                clock.advance(step / 1000)
                emitted.extend(e.away for e in sign.poll() if isinstance(e, SignChanged))

    def bounce() -> int:
        return rng.randint(1, stable_ms - 20)

    truth = False
    for n in range(1, 10_001):
        new = not truth
        for _ in range(rng.randint(0, 3)):  # glitches towards the new level first
            put(new)
            wait(bounce())
            put(truth)
            wait(rng.randint(1, 400))
        put(new)  # the real change, with contact bounce after it
        for _ in range(rng.randint(0, 5)):
            wait(bounce())
            put(truth)
            wait(bounce())
            put(new)
        truth = new
        wait(stable_ms + rng.randint(10, 300))
        assert len(emitted) == n, f"after real change {n}: {len(emitted)} transitions"
        assert emitted[-1] is truth and sign.away is truth
    assert emitted == [bool(i % 2 == 0) for i in range(10_000)]


# ---------------------------------------------------------------- the away sign: health
def test_flapping_is_detected_and_cleared_when_it_calms_down(factory, clock, closing):
    sign = closing(AwaySign(4, clock=clock, debounce=0.2, flap_changes=10, flap_window=5.0, pin_factory=factory))
    pin = factory.pin(4)
    for i in range(10):  # 10 raw changes in 5 s: allowed
        pin.wire(i % 2 == 1)
        clock.advance(0.1)
    assert run(clock, sign, 1.0) == []
    for i in range(12):  # a loose wire: 12 more, each too short to count as a sign change
        pin.wire(i % 2 == 1)
        clock.advance(0.05)
    assert sign.poll() == [SensorHealth("flapping")]
    assert sign.health == "flapping" and sign.away is False
    assert run(clock, sign, 3.0) == []
    assert run(clock, sign, 3.0) == [SensorHealth("ok")]
    assert sign.health == "ok"


def test_a_flapping_sensor_still_reports_real_changes(factory, clock, closing):
    sign = closing(AwaySign(4, clock=clock, debounce=0.2, flap_changes=3, flap_window=5.0, pin_factory=factory))
    pin = factory.pin(4)
    for level in (False, True, False, True, False):
        pin.wire(level)
        clock.advance(0.01)
    assert run(clock, sign, 0.3) == [SensorHealth("flapping"), SignChanged(True)]


@pytest.fixture
def cabled(factory, clock, closing):
    """Sensor on GPIO4 (sign there = low), cable-detect loop on GPIO5 (plugged = low); the sign is out."""
    factory.pin(4).wire(False)
    factory.pin(5).wire(False)
    sign = closing(AwaySign(4, clock=clock, debounce=0.2, cable_pin=5, pin_factory=factory))
    assert (sign.away, sign.health) == (True, "ok")
    return sign


def unplug(factory, clock):
    factory.pin(4).unplug()  # the sensor's contact breaks first; its pull-up reads "no sign"
    clock.advance(0.03)
    factory.pin(5).unplug()


def test_unplugged_via_the_cable_detect_pin_freezes_the_sign(factory, clock, cabled):
    unplug(factory, clock)
    assert run(clock, cabled, 1.0) == [SensorHealth("unplugged")]
    assert (cabled.away, cabled.health) == (True, "unplugged")
    assert run(clock, cabled, 5.0) == []
    # plugged back in with the sign still there: nothing changed
    factory.pin(4).wire(False)
    factory.pin(5).wire(False)
    assert run(clock, cabled, 1.0) == [SensorHealth("ok")]
    assert cabled.away is True


def test_a_change_while_unplugged_is_reported_when_the_cable_is_back(factory, clock, cabled):
    unplug(factory, clock)
    assert run(clock, cabled, 1.0) == [SensorHealth("unplugged")]
    factory.pin(5).wire(False)  # back in; the clerk took the sign meanwhile (sensor reads high)
    for _ in range(3):  # the plug bounces
        clock.advance(0.01)
        factory.pin(5).unplug()
        clock.advance(0.01)
        factory.pin(5).wire(False)
    assert run(clock, cabled, 1.0) == [SensorHealth("ok"), SignChanged(False)]


def test_a_sensor_unplugged_at_start(factory, clock, closing):
    sign = closing(AwaySign(4, clock=clock, cable_pin=5, pin_factory=factory))
    assert sign.health == "unplugged"
    factory.pin(5).wire(False)
    assert run(clock, sign, 0.3) == [SensorHealth("ok")]


def test_without_cable_detect_a_pin_read_error_counts_as_unplugged(factory, clock, caplog):
    sign = AwaySign(4, clock=clock, debounce=0.2, pin_factory=factory)
    try:
        pin = factory.pin(4)
        pin.broken = True
        assert sign.poll() == [SensorHealth("unplugged")]
        assert run(clock, sign, 1.0) == []
        assert caplog.text.count("GPIO4 cannot be read") == 1
        pin.wire(False)  # the sign was put out meanwhile
        clock.advance(0.5)
        pin.broken = False
        assert sign.poll() == [SensorHealth("ok"), SignChanged(True)]
    finally:
        factory.pin(4).broken = False
        sign.close()


# ---------------------------------------------------------------- buttons
SCORES = {17: 5, 27: 4, 22: 1}


@pytest.fixture
def buttons(factory, clock, closing):
    """Buttons to GND with pull-ups: pressed = low."""
    return closing(ScoreButtons(SCORES, clock=clock, debounce=0.05, pin_factory=factory))


def press(factory, clock, pin: int, hold: float, bounces: int = 3) -> None:
    p = factory.pin(pin)
    for _ in range(bounces):
        p.wire(False)
        clock.advance(0.002)
        p.wire(True)
        clock.advance(0.003)
    p.wire(False)
    clock.advance(hold)


def release(factory, clock, pin: int, bounces: int = 3) -> None:
    p = factory.pin(pin)
    for _ in range(bounces):
        p.wire(True)
        clock.advance(0.004)
        p.wire(False)
        clock.advance(0.001)
    p.wire(True)


def test_a_bouncy_press_gives_one_score(factory, clock, buttons):
    press(factory, clock, 17, hold=0.0)
    assert run(clock, buttons, 0.04) == []
    assert run(clock, buttons, 0.02) == [ScorePressed(5)]
    assert run(clock, buttons, 2.0) == []  # held long: still one
    release(factory, clock, 17)
    assert run(clock, buttons, 1.0) == []


def test_a_tap_shorter_than_the_debounce_time_does_not_count(factory, clock, buttons):
    press(factory, clock, 27, hold=0.03)
    release(factory, clock, 27, bounces=0)
    assert run(clock, buttons, 1.0) == []


def test_presses_come_out_in_the_order_they_became_stable(factory, clock, buttons):
    press(factory, clock, 22, hold=0.01, bounces=0)
    press(factory, clock, 17, hold=0.3, bounces=0)  # nobody polled meanwhile
    assert buttons.poll() == [ScorePressed(1), ScorePressed(5)]


def test_a_button_held_at_start_counts_only_after_release(factory, clock, closing):
    factory.pin(17).wire(False)
    b = closing(ScoreButtons({17: 5}, clock=clock, pin_factory=factory))
    assert run(clock, b, 1.0) == []
    release(factory, clock, 17)
    assert run(clock, b, 0.2) == []
    press(factory, clock, 17, hold=0.0)
    assert run(clock, b, 0.2) == [ScorePressed(5)]


def test_1000_random_bouncy_presses_count_once_each(factory, clock, buttons):
    rng = random.Random(5)
    got, expected = [], []
    for _ in range(1000):
        pin = rng.choice(list(SCORES))
        if rng.random() < 0.2:  # noise on the line, shorter than the debounce time
            press(factory, clock, pin, hold=rng.uniform(0.001, 0.03), bounces=rng.randint(0, 4))
            release(factory, clock, pin, bounces=0)
        else:
            expected.append(ScorePressed(SCORES[pin]))
            press(factory, clock, pin, hold=rng.uniform(0.06, 0.5), bounces=rng.randint(0, 6))
            got.extend(buttons.poll())
            release(factory, clock, pin, bounces=rng.randint(0, 6))
        got.extend(run(clock, buttons, 0.06 + rng.randint(0, 5) * 0.02))
    assert got == expected


def test_the_invite_button(factory, clock, closing):
    invite = closing(InviteButton(25, clock=clock, pin_factory=factory))
    press(factory, clock, 25, hold=0.1)
    release(factory, clock, 25)
    clock.advance(0.1)  # nobody polled, yet both presses count
    press(factory, clock, 25, hold=0.1)
    assert run(clock, invite, 0.2) == [InvitePressed(), InvitePressed()]
    release(factory, clock, 25)
    press(factory, clock, 25, hold=0.1)  # pressed again before the release was stable: the same press
    assert run(clock, invite, 0.2) == []


def test_buttons_to_3v3_with_pull_downs(factory, clock, closing):
    b = closing(ScoreButtons({17: 3}, clock=clock, pull="down", pin_factory=factory))
    factory.pin(17).wire(True)
    assert run(clock, b, 0.1) == [ScorePressed(3)]


# ---------------------------------------------------------------- settings
EXAMPLE = """
[gpio]
sign_pin = 4
sign_pull = "up"
sign_active_high = false
sign_debounce = 0.2
cable_pin = 5
flap_changes = 10
flap_window = 5.0
buttons = { 17 = 5, 27 = 4, 22 = 3, 23 = 2, 24 = 1 }
button_pull = "up"
button_debounce = 0.05
invite_pin = 25
"""


def test_settings_from_the_documented_example():
    s = GpioSettings.from_toml(tomllib.loads(EXAMPLE)["gpio"])
    assert s.sign_pin == 4 and s.cable_pin == 5 and s.invite_pin == 25
    assert s.buttons == {17: 5, 27: 4, 22: 3, 23: 2, 24: 1}
    assert s.sign_active_high is False and s.button_active_high is False
    assert s.enabled


def test_settings_example_in_the_docstring_parses():
    doc = GpioSettings.__doc__
    block = doc[doc.index("[gpio]\n"):doc.index("Direct construction")]
    s = GpioSettings.from_toml(tomllib.loads(block)["gpio"])
    assert s.buttons == {17: 5, 27: 4, 22: 3, 23: 2, 24: 1} and s.invite_pin == 25


def test_settings_defaults():
    s = GpioSettings.from_toml({})
    assert not s.enabled
    assert (s.sign_pull, s.sign_active_high, s.sign_debounce) == ("up", False, 0.2)
    assert (s.flap_changes, s.flap_window, s.button_debounce) == (10, 5.0, 0.05)
    assert GpioSettings.from_toml({"sign_pin": 4, "sign_pull": "down"}).sign_active_high is True
    assert GpioSettings.from_toml({"buttons": {17: 5}}).buttons == {17: 5}


@pytest.mark.parametrize("raw, message", [
    ({"sign_pin": 28}, r"sign_pin 28 is not a GPIO number from 0 to 27"),
    ({"sign_pin": -1}, r"sign_pin -1 is not a GPIO number"),
    ({"sign_pin": "4"}, r"sign_pin '4' is not a GPIO number"),
    ({"invite_pin": True}, r"invite_pin True is not a GPIO number"),
    ({"buttons": {"40": 5}}, r"buttons pin 40 is not a GPIO number"),
    ({"buttons": {"GPIO17": 5}}, r"buttons key 'GPIO17' is not a GPIO number"),
    ({"buttons": {"17": 6}}, r"button on pin 17 has score 6; scores are whole numbers from 1 to 5"),
    ({"buttons": {"17": 0}}, r"button on pin 17 has score 0"),
    ({"buttons": {"17": 4.5}}, r"button on pin 17 has score 4.5"),
    ({"buttons": {"17": 5, "27": 5}}, r"score 5 is on two buttons \(pins 17 and 27\)"),
    ({"buttons": [17, 27]}, r"buttons must be a table"),
    ({"sign_pin": 4, "buttons": {"4": 5}}, r"GPIO4 is used twice \(sign_pin and the score-5 button\)"),
    ({"sign_pin": 4, "cable_pin": 4}, r"GPIO4 is used twice \(sign_pin and cable_pin\)"),
    ({"invite_pin": 17, "buttons": {"17": 5}}, r"GPIO17 is used twice \(invite_pin and the score-5 button\)"),
    ({"cable_pin": 5}, r"cable_pin needs sign_pin"),
    ({"sign_pull": "sideways"}, r"sign_pull 'sideways' must be one of 'up', 'down', 'none'"),
    ({"sign_pin": 4, "sign_pull": "none"}, r'sign_active_high is required when the pull is "none"'),
    ({"button_pull": "none"}, r"button_active_high is required"),
    ({"sign_active_high": "yes"}, r"sign_active_high must be true or false"),
    ({"sign_debounce": 0}, r"sign_debounce 0 must be a positive number of seconds up to 10"),
    ({"button_debounce": 30}, r"button_debounce 30 must be a positive number"),
    ({"flap_window": -5}, r"flap_window -5 must be a positive number"),
    ({"flap_changes": 0}, r"flap_changes 0 must be a whole number >= 1"),
    ({"flap_changes": 2.5}, r"flap_changes 2.5 must be a whole number"),
    ({"sign_pinn": 4}, r"unknown keys sign_pinn"),
])
def test_bad_settings_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(ValueError, match=r"^gpio: " + message):
        GpioSettings.from_toml(raw)


def test_settings_section_must_be_a_table():
    with pytest.raises(ValueError, match=r"\[gpio\] section must be a table"):
        GpioSettings.from_toml(["sign_pin", 4])


# ---------------------------------------------------------------- everything together
def test_gpio_inputs_from_settings_poll_together_and_close_releases_the_pins(factory, clock):
    settings = GpioSettings.from_toml(tomllib.loads(EXAMPLE)["gpio"])
    factory.pin(5).wire(False)  # cable plugged in
    inputs = GpioInputs(settings, clock, pin_factory=factory)
    try:
        assert (inputs.away, inputs.health) == (False, "ok")
        factory.pin(4).wire(False)  # sign out
        press(factory, clock, 25, hold=0.1)  # 请评价
        release(factory, clock, 25)
        press(factory, clock, 24, hold=0.1)  # 非常不满意
        assert run(clock, inputs, 0.3) == [SignChanged(True), InvitePressed(), ScorePressed(1)]
        assert inputs.away is True
    finally:
        inputs.close()
    assert inputs.poll() == []
    for pin in (4, 5, 17, 27, 22, 23, 24, 25):  # released: they can be claimed again
        DigitalInputDevice(pin, pin_factory=factory).close()


def test_gpio_inputs_without_a_sensor(factory, clock):
    inputs = GpioInputs(GpioSettings(invite_pin=25), clock, pin_factory=factory)
    try:
        assert (inputs.away, inputs.health, inputs.sign, inputs.buttons) == (False, "ok", None, None)
        assert run(clock, inputs, 0.1) == []
    finally:
        inputs.close()


def test_a_pin_that_cannot_be_claimed_releases_the_ones_already_taken(factory, clock):
    busy = DigitalInputDevice(17, pin_factory=factory)
    try:
        with pytest.raises(GPIOPinInUse):
            GpioInputs(GpioSettings(sign_pin=4, invite_pin=25, buttons={27: 4, 17: 5}), clock, pin_factory=factory)
    finally:
        busy.close()
    for pin in (4, 25, 27):
        DigitalInputDevice(pin, pin_factory=factory).close()
