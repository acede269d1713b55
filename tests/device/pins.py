"""A mock pin with something wired to it, for the GPIO and screen tests."""
from __future__ import annotations

import errno

from gpiozero.pins.mock import MockPin


class WiredPin(MockPin):
    """A MockPin with something wired to it, as on a real board.

    A level driven from outside (`wire`) beats the pull resistor; `unplug()`
    leaves the pin to its pull; `broken` makes reads raise the way a failing pin
    factory does; `set_silently` changes the level without an edge callback (a
    lost interrupt).
    """

    def __init__(self, factory, info):
        self.wired: bool | None = None
        self.broken = False
        super().__init__(factory, info)

    def wire(self, level: bool) -> None:
        self.wired = level
        self._drive(level)

    def unplug(self) -> None:
        self.wired = None
        if self.pull in ("up", "down"):
            self._drive(self.pull == "up")

    def set_silently(self, level: bool) -> None:
        self.wired = level
        self._change_state(level)

    def _drive(self, level: bool) -> None:
        self.drive_high() if level else self.drive_low()

    def _set_pull(self, value):
        super()._set_pull(value)
        if self.wired is not None:
            self._drive(self.wired)

    def _get_state(self):
        if self.broken:
            raise OSError(errno.EIO, "GPIO read failed")
        return super()._get_state()
