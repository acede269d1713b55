"""Debouncing and flap detection for the kiosk's inputs: pure logic, no library.

A contact (the away sign's reed switch, a rating button) does not change level
once: it bounces for a few milliseconds, and a loose wire chatters for as long
as it is loose. gpiozero's own `bounce_time` is of no use here (MockPin ignores
it, and it only drops edges for a while after the first one, so it can settle
on the wrong level); instead every raw level we learn of is fed to a
`Debouncer`, which commits a level only once it has held for `stable_seconds`.

Time is whatever monotonic seconds the caller passes in (`Clock.monotonic()`
in the kiosk, a `FakeClock` in tests); nothing here reads a clock or sleeps.
"""
from __future__ import annotations

from collections import deque

__all__ = ["Debouncer", "FlapDetector"]

# Float sums of clock readings are off by far less than this; a level that held
# for 0.2 s measured as 0.19999999999999929 s still counts.
TOLERANCE = 1e-9


class Debouncer:
    """One input's committed level: a raw level counts once it has been stable for `stable_seconds`.

    `feed(level, now)` for every raw level learned (edges from a callback,
    samples from polling; repeating the current level is harmless), and
    `poll(now)` to collect committed transitions: it returns the new level once
    per real change and `None` otherwise. A bounce shorter than
    `stable_seconds` never becomes a transition.

    A level that was stable long enough counts even when nobody polled while it
    lasted: `feed` settles it before taking the next raw level, and the
    transitions wait, oldest first, for `poll`. Call `poll` until it returns
    `None` to drain them.

    A sample timed before the last raw change is stale (it was read before a
    newer edge was reported) and is ignored.
    """

    __slots__ = ("stable_seconds", "_committed", "_raw", "_since", "_pending")

    def __init__(self, stable_seconds: float, initial: bool):
        if not stable_seconds >= 0:  # also rejects NaN
            raise ValueError(f"stable_seconds must be >= 0, not {stable_seconds!r}")
        self.stable_seconds = float(stable_seconds)
        self._committed = bool(initial)
        self._raw = bool(initial)
        self._since = float("-inf")
        self._pending: deque[tuple[bool, float]] = deque()

    @property
    def level(self) -> bool:
        """The committed level (including transitions `poll` has not handed out yet)."""
        return self._committed

    @property
    def raw(self) -> bool:
        """The last raw level fed."""
        return self._raw

    @property
    def settled(self) -> bool:
        """True when the raw level is the committed one (no change under way)."""
        return self._raw == self._committed

    def feed(self, level: bool, now: float) -> bool:
        """A raw level seen at `now`. Returns whether the raw level changed."""
        level = bool(level)
        if level == self._raw or now < self._since:
            return False
        self._settle(now)
        self._raw = level
        self._since = now
        return True

    def poll(self, now: float) -> bool | None:
        """The next committed level, once per real change; `None` when there is none."""
        change = self.poll_timed(now)
        return None if change is None else change[0]

    def poll_timed(self, now: float) -> tuple[bool, float] | None:
        """Like `poll`, with the time the level had been stable for `stable_seconds`."""
        self._settle(now)
        return self._pending.popleft() if self._pending else None

    def _settle(self, now: float) -> None:
        if self._raw != self._committed and now - self._since >= self.stable_seconds - TOLERANCE:
            self._committed = self._raw
            self._pending.append((self._raw, self._since + self.stable_seconds))


class FlapDetector:
    """Too many raw changes within a sliding window: a chattering sensor or a loose wire.

    `record(now)` for every raw level change. Flapping starts as soon as more
    than `max_changes` changes fall within the last `window_seconds`, and ends
    once the window holds no more than half of `max_changes` (hysteresis, so a
    rate near the limit does not toggle the report). `update(now)` lets time
    pass and returns whether the input is flapping.
    """

    __slots__ = ("max_changes", "window_seconds", "_times", "_flapping")

    def __init__(self, max_changes: int, window_seconds: float):
        if isinstance(max_changes, bool) or not isinstance(max_changes, int) or max_changes < 1:
            raise ValueError(f"max_changes must be a whole number >= 1, not {max_changes!r}")
        if not window_seconds > 0:
            raise ValueError(f"window_seconds must be > 0, not {window_seconds!r}")
        self.max_changes = max_changes
        self.window_seconds = float(window_seconds)
        # Only the newest max_changes + 1 times can decide either threshold.
        self._times: deque[float] = deque(maxlen=max_changes + 1)
        self._flapping = False

    @property
    def flapping(self) -> bool:
        return self._flapping

    def record(self, now: float) -> None:
        self._times.append(now)
        if self._more_than(self.max_changes, now):
            self._flapping = True

    def update(self, now: float) -> bool:
        if self._more_than(self.max_changes, now):
            self._flapping = True
        elif self._flapping and not self._more_than(self.max_changes // 2, now):
            self._flapping = False
        return self._flapping

    def _more_than(self, n: int, now: float) -> bool:
        """More than `n` changes within the window ending at `now` (the times are in order)."""
        return len(self._times) > n and self._times[-(n + 1)] > now - self.window_seconds
