"""Input guards that need no library: duplicated touches from two input providers."""
from __future__ import annotations


class TouchFilter:
    """A touch that lands where the previous one did, within `seconds`, is the same touch
    reported twice (a kiosk with two touch providers sees every touch twice)."""

    def __init__(self, seconds: float = 0.15, distance: float = 40.0):
        self.seconds = seconds
        self.distance = distance
        self._last: tuple[float, float, float] | None = None

    def accept(self, x: float, y: float, now: float) -> bool:
        last, self._last = self._last, (x, y, now)
        if last is None:
            return True
        lx, ly, lt = last
        duplicate = now - lt < self.seconds and (x - lx) ** 2 + (y - ly) ** 2 <= self.distance ** 2
        if duplicate:
            self._last = last  # a third copy is measured from the original too
        return not duplicate
