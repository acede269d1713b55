"""The pure debouncer and flap detector, driven with plain numbers for time."""
from __future__ import annotations

import random

import pytest

from device.debounce import Debouncer, FlapDetector


def drain(debouncer: Debouncer, now: float) -> list[bool]:
    out = []
    while (level := debouncer.poll(now)) is not None:
        out.append(level)
    return out


# ---------------------------------------------------------------- Debouncer
def test_a_bounce_shorter_than_the_stable_time_is_ignored():
    d = Debouncer(0.2, initial=False)
    d.feed(True, 10.0)
    assert d.poll(10.1) is None
    d.feed(False, 10.19)
    assert drain(d, 20.0) == []
    assert d.level is False and d.settled


def test_a_stable_change_gives_exactly_one_transition():
    d = Debouncer(0.2, initial=False)
    d.feed(True, 10.0)
    assert d.poll(10.0) is None
    assert d.poll(10.19) is None
    assert d.level is False and not d.settled
    assert d.poll(10.2) is True  # exactly the stable time counts
    assert d.poll(10.2) is None
    assert d.poll(99.0) is None
    assert d.level is True and d.settled


def test_repeating_the_current_level_does_not_restart_the_wait():
    d = Debouncer(0.2, initial=False)
    assert d.feed(True, 10.0) is True
    assert d.feed(True, 10.15) is False
    assert d.poll(10.2) is True


def test_a_bounce_restarts_the_wait():
    d = Debouncer(0.2, initial=False)
    d.feed(True, 10.0)
    d.feed(False, 10.1)
    d.feed(True, 10.15)
    assert d.poll(10.3) is None
    assert d.poll(10.35) is True


def test_a_level_that_held_long_enough_counts_even_when_nobody_polled():
    d = Debouncer(0.2, initial=False)
    d.feed(True, 10.0)
    d.feed(False, 10.5)  # True held 0.5 s: a real change, then back
    d.feed(True, 10.6)   # False held 0.1 s: a bounce
    d.feed(False, 10.65)
    assert d.poll_timed(11.0) == (True, pytest.approx(10.2))
    assert d.poll_timed(11.0) == (False, pytest.approx(10.85))
    assert d.poll(11.0) is None
    assert d.level is False


def test_a_sample_older_than_the_last_change_is_ignored():
    d = Debouncer(0.2, initial=False)
    d.feed(True, 10.0)
    assert d.feed(False, 9.99) is False  # read before the edge that was already reported
    assert d.raw is True
    assert d.poll(10.2) is True


def test_initial_level_is_committed_at_once():
    assert Debouncer(0.2, initial=True).level is True
    assert Debouncer(0.2, initial=True).poll(0.0) is None


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_a_negative_stable_time_is_refused(bad):
    with pytest.raises(ValueError, match="stable_seconds"):
        Debouncer(bad, initial=False)


@pytest.mark.parametrize("poll_every", [0.005, 0.02, 0.5, None])
def test_random_bursts_give_one_transition_per_real_change_at_any_poll_pace(poll_every):
    """Polls every 5 ms, every 20 ms, rarely, or only once at the very end: same transitions."""
    rng = random.Random(7)
    stable = 0.2
    d = Debouncer(stable, initial=False)
    now, last_poll, truth, expected, got = 0.0, 0.0, False, [], []

    def at(t: float, level: bool):
        nonlocal last_poll
        while poll_every is not None and last_poll + poll_every <= t:
            last_poll += poll_every
            got.extend(drain(d, last_poll))
        d.feed(level, t)

    for _ in range(2000):
        new = not truth
        for _ in range(rng.randint(0, 3)):  # glitches towards the new level
            now += rng.uniform(0.001, 0.3)
            at(now, new)
            now += rng.uniform(0.0005, stable * 0.9)
            at(now, truth)
        now += rng.uniform(0.001, 0.3)
        at(now, new)
        for _ in range(rng.randint(0, 5)):  # contact bounce after the change
            now += rng.uniform(0.0005, stable * 0.9)
            at(now, truth)
            now += rng.uniform(0.0005, stable * 0.9)
            at(now, new)
        truth = new
        expected.append(new)
        now += stable * 1.05 + rng.uniform(0, 0.3)
    got.extend(drain(d, now))
    assert got == expected
    assert d.level is truth


# ---------------------------------------------------------------- FlapDetector
def test_more_than_max_changes_in_the_window_is_flapping():
    f = FlapDetector(10, 5.0)
    for i in range(10):
        f.record(100.0 + i * 0.4)
    assert f.update(104.0) is False  # exactly 10: still fine
    f.record(104.2)
    assert f.flapping is True
    assert f.update(104.3) is True


def test_changes_spread_wider_than_the_window_are_not_flapping():
    f = FlapDetector(10, 5.0)
    for i in range(100):
        f.record(100.0 + i * 0.6)  # 9 per 5 s, for a minute
        assert f.update(100.0 + i * 0.6) is False


def test_flapping_clears_once_it_calms_down_with_hysteresis():
    f = FlapDetector(10, 5.0)
    for i in range(11):
        f.record(100.0 + i * 0.1)
    assert f.update(101.0)
    # keeps changing at 8 per 5 s: below the limit, but above half of it
    t = 101.0
    for _ in range(20):
        t += 0.625
        f.record(t)
        assert f.update(t) is True
    # then quiet: clears once the window holds 5 or fewer
    assert f.update(t + 1.0) is True   # 7 left in the window
    assert f.update(t + 2.0) is False  # 5 left
    assert f.update(t + 60.0) is False


def test_flapping_is_latched_even_if_nobody_asked_in_time():
    f = FlapDetector(3, 1.0)
    for t in (10.0, 10.1, 10.2, 10.3):
        f.record(t)
    assert f.flapping is True
    assert f.update(10.5) is True  # the window still holds 4


def test_flap_detector_agrees_with_counting_by_hand():
    rng = random.Random(11)
    f = FlapDetector(6, 2.0)
    times: list[float] = []
    flapping = False
    t = 0.0
    for _ in range(5000):
        t += rng.expovariate(3.0)
        f.record(t)
        times.append(t)
        in_window = sum(1 for x in times if x > t - 2.0)
        if in_window > 6:
            flapping = True
        assert f.flapping is flapping
        later = t + rng.uniform(0, 1.0)
        in_window = sum(1 for x in times if x > later - 2.0)
        if in_window > 6:
            flapping = True
        elif in_window <= 3:
            flapping = False
        assert f.update(later) is flapping
        times = [x for x in times if x > later - 2.0]
        t = later


@pytest.mark.parametrize("changes, window", [(0, 5.0), (True, 5.0), (2.5, 5.0), (10, 0), (10, -1.0)])
def test_flap_limits_are_checked(changes, window):
    with pytest.raises(ValueError):
        FlapDetector(changes, window)
