"""The kiosk's pure core: what the customer and the clerk can do, and what it records.

Screens: `ready` (the rating buttons) -> `rated` (the reason question after a
low score) -> `thanks` -> `ready`. The away sign overrides them all with
`away`. Every recorded fact goes to the outbox before the screen moves on.
No library here: time comes from a Clock, events go to an Outbox.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Protocol

from shared.clock import Clock
from shared.contract import Config, Event
from shared.scoring import is_low
from shared.timefmt import format_ts

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def append(self, **fields) -> Event: ...


@dataclass(frozen=True)
class Timing:
    thanks_seconds: float = 3.0
    reasons_timeout: float = 15.0


class Kiosk:
    def __init__(self, outbox: EventSink, clock: Clock, window: str, config: Config | None = None,
                 timing: Timing = Timing()):
        self.outbox = outbox
        self.clock = clock
        self.window = window
        self.config = config or Config()
        self.timing = timing
        self.screen = "ready"
        self.presence = "present"
        self.last_rating: Event | None = None
        self._pending_score: int | None = None
        self._screen_since = clock.monotonic()
        self._listeners: list[Callable[["Kiosk"], None]] = []

    # ------------------------------------------------------------ observing
    @property
    def shown(self) -> str:
        """The screen the customer sees."""
        return "away" if self.presence == "away" else self.screen

    @property
    def staff(self) -> str | None:
        return self.config.staff["id"] if self.config.staff else None

    def subscribe(self, listener: Callable[["Kiosk"], None]) -> None:
        self._listeners.append(listener)

    def _show(self, screen: str) -> None:
        self.screen = screen
        self._screen_since = self.clock.monotonic()
        for listener in self._listeners:
            listener(self)

    def _record(self, kind: str, **fields) -> Event:
        return self.outbox.append(
            ts=format_ts(self.clock.now()), window=self.window, type=kind, staff=self.staff, **fields
        )

    # ------------------------------------------------------------ inputs
    def start(self, presence: str = "present") -> None:
        """After every start the kiosk states the away sign's position."""
        self.presence = presence
        self._record("presence", state=presence)
        self._show("ready")

    def press(self, score: int) -> bool:
        """A customer pressed a rating button. Returns whether it counted."""
        if self.presence == "away" or self.screen != "ready":
            return False
        if not 1 <= score <= self.config.scale:
            raise ValueError(f"score {score} is outside 1..{self.config.scale}")
        if is_low(score, self.config.scale) and self.config.reasons:
            self._pending_score = score
            self._show("rated")
        else:
            self._rate(score, ())
        return True

    def choose_reasons(self, codes: list[str] | tuple[str, ...]) -> None:
        """The customer answered the reason question (an empty answer is a skip)."""
        if self.screen != "rated" or self._pending_score is None:
            return
        known = {r["code"] for r in self.config.reasons}
        self._rate(self._pending_score, tuple(c for c in codes if c in known))

    def skip_reasons(self) -> None:
        self.choose_reasons(())

    def comment(self, text: str) -> Event:
        """A comment for the opinion book, tied to the rating just made when there is one."""
        rating = self.last_rating.id if self.last_rating and self.screen == "thanks" else None
        return self._record("feedback", text=text, rating=rating)

    def sign(self, away: bool) -> None:
        """The away sign was put out (True) or taken back (False)."""
        state = "away" if away else "present"
        if state == self.presence:
            return
        if away and self.screen == "rated":
            self.skip_reasons()  # never lose a rating the customer already gave
        self.presence = state
        self._record("presence", state=state)
        self._show("ready")

    def apply_config(self, config: Config) -> None:
        """A new config from the server; a change of clerk is recorded."""
        old_staff = self.staff
        if self.screen == "rated" and config.scale != self.config.scale:
            self.skip_reasons()
        self.config = config
        if self.staff != old_staff:
            self._record("staff")
        self._show(self.screen)

    def tick(self) -> None:
        """Let time act: the reason question times out, the thank-you ends."""
        elapsed = self.clock.monotonic() - self._screen_since
        if self.screen == "rated" and elapsed >= self.timing.reasons_timeout:
            self.skip_reasons()
        elif self.screen == "thanks" and elapsed >= self.timing.thanks_seconds:
            self._show("ready")

    def _rate(self, score: int, reasons: tuple[str, ...]) -> None:
        self._pending_score = None
        self.last_rating = self._record("rating", score=score, scale=self.config.scale, reasons=reasons)
        self._show("thanks")
