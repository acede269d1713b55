"""The kiosk's pure core: what the customer and the clerk can do, and what it records.

Screens: `ready` (the rating buttons) -> `rated` (the reason question after a
low score) -> `thanks` -> (optionally `comment`, the opinion book) -> `ready`.
In invite mode the kiosk rests on `idle` and shows `ready` only for a few
seconds after the clerk's 请评价. The clerk signs in on `signin`. The away
sign overrides every screen with `away`.

Every recorded fact goes to the outbox before the screen moves on. No library
here: time comes from a Clock, events go to an outbox.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Protocol

from shared.clock import Clock
from shared.contract import Config, Event
from shared.pins import verify_pin
from shared.scoring import is_low
from shared.timefmt import format_ts

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def append(self, **fields) -> Event: ...


@dataclass(frozen=True)
class Timing:
    thanks_seconds: float = 3.0
    reasons_timeout: float = 15.0
    min_interval: float = 5.0      # after a counted press, presses are not counted for this long
    comment_timeout: float = 45.0
    invite_seconds: float = 10.0   # invite mode: how long a 请评价 keeps the buttons open
    signin_timeout: float = 30.0
    signin_attempts: int = 5       # wrong PINs before sign-in locks
    signin_lockout: float = 300.0


class Kiosk:
    def __init__(self, outbox: EventSink, clock: Clock, window: str, config: Config | None = None,
                 timing: Timing = Timing(), invite_mode: bool = False):
        self.outbox = outbox
        self.clock = clock
        self.window = window
        self.config = config or Config()
        self.timing = timing
        self.invite_mode = invite_mode
        self.screen = self._rest
        self.presence = "present"
        self.last_rating: Event | None = None
        self.signed_in: dict[str, str] | None = None  # {"id", "name"} of a clerk who signed in here
        self._pending_score: int | None = None
        self._screen_since = clock.monotonic()
        self._last_counted: float | None = None
        self._invited_until = float("-inf")
        self._failed_pins: list[float] = []
        self._listeners: list[Callable[["Kiosk"], None]] = []

    # ------------------------------------------------------------ observing
    @property
    def shown(self) -> str:
        """The screen the customer sees."""
        return "away" if self.presence == "away" else self.screen

    @property
    def clerk(self) -> dict[str, str] | None:
        """The clerk on duty: who signed in here, else who the server's config names."""
        return self.signed_in or self.config.staff

    @property
    def staff(self) -> str | None:
        return self.clerk["id"] if self.clerk else None

    @property
    def _rest(self) -> str:
        return "idle" if self.invite_mode else "ready"

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

    # ------------------------------------------------------------ the customer
    def start(self, presence: str = "present") -> None:
        """After every start the kiosk states the away sign's position."""
        self.presence = presence
        self._record("presence", state=presence)
        self._show(self._rest)

    def press(self, score: int) -> bool:
        """A customer pressed a rating button. Returns whether it counted."""
        if self.presence == "away" or self.screen != "ready":
            return False
        now = self.clock.monotonic()
        if self._last_counted is not None and now - self._last_counted < self.timing.min_interval:
            log.info("press of %d ignored: %.1f s after the last counted one", score, now - self._last_counted)
            return False
        if not 1 <= score <= self.config.scale:
            raise ValueError(f"score {score} is outside 1..{self.config.scale}")
        self._last_counted = now
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
        self._rate(self._pending_score, tuple(dict.fromkeys(c for c in codes if c in known)))

    def skip_reasons(self) -> None:
        self.choose_reasons(())

    def open_comment(self) -> bool:
        """留言 on the thank-you screen: the quick phrases (and the QR code) for the opinion book."""
        if self.shown != "thanks":
            return False
        self._show("comment")
        return True

    def comment(self, text: str) -> Event | None:
        """A comment for the opinion book, tied to the rating just made."""
        if self.shown not in ("thanks", "comment"):
            return None
        event = self._record("feedback", text=text, rating=self.last_rating.id if self.last_rating else None)
        self._show("thanks")
        return event

    def close(self) -> None:
        """Back to the resting screen from the thank-you, the comments or the sign-in."""
        if self.screen in ("thanks", "comment", "signin"):
            self._show(self._rest)

    # ------------------------------------------------------------ the clerk
    def sign(self, away: bool) -> None:
        """The away sign was put out (True) or taken back (False)."""
        state = "away" if away else "present"
        if state == self.presence:
            return
        if away and self.screen == "rated":
            self.skip_reasons()  # never lose a rating the customer already gave
        self.presence = state
        self._record("presence", state=state)
        self._show(self._rest)

    def invite(self) -> bool:
        """The clerk's 请评价: in invite mode, the buttons count for `invite_seconds`."""
        if not self.invite_mode or self.presence == "away" or self.screen not in ("idle", "ready"):
            return False
        self._invited_until = self.clock.monotonic() + self.timing.invite_seconds
        self._show("ready")
        return True

    def open_sign_in(self) -> bool:
        if self.presence == "away" or self.screen not in ("idle", "ready") or not self.config.roster:
            return False
        self._show("signin")
        return True

    def sign_in(self, staff_id: str, pin: str) -> bool:
        """Check the PIN against the roster offline; a signed-in clerk is the staff of every event."""
        if self.screen != "signin" or self.signin_locked:
            return False
        clerk = next((c for c in self.config.roster if c["id"] == staff_id), None)
        if clerk is None or not verify_pin(pin, clerk["pin"]):
            self._failed_pins.append(self.clock.monotonic())
            log.warning("failed sign-in for staff %r", staff_id)
            return False
        self._failed_pins.clear()
        self.signed_in = {"id": clerk["id"], "name": clerk["name"]}
        self._record("staff")
        self._show(self._rest)
        return True

    def sign_out(self) -> None:
        if self.signed_in is None:
            return
        self.signed_in = None
        self._record("staff")
        self._show(self._rest if self.screen == "signin" else self.screen)

    @property
    def signin_locked(self) -> bool:
        recent = [t for t in self._failed_pins if self.clock.monotonic() - t < self.timing.signin_lockout]
        self._failed_pins = recent
        return len(recent) >= self.timing.signin_attempts

    # ------------------------------------------------------------ the server and time
    def apply_config(self, config: Config) -> None:
        """A new config from the server; a change of clerk is recorded."""
        old_staff = self.staff
        if self.screen == "rated" and config.scale != self.config.scale:
            self.skip_reasons()
        self.config = config
        if self.signed_in and not any(c["id"] == self.signed_in["id"] for c in config.roster):
            self.signed_in = None  # taken off this window's roster
        if self.staff != old_staff:
            self._record("staff")
        self._show(self.screen)

    def tick(self) -> None:
        """Let time act: questions time out, the thank-you ends, an invitation lapses."""
        now = self.clock.monotonic()
        elapsed = now - self._screen_since
        if self.screen == "rated" and elapsed >= self.timing.reasons_timeout:
            self.skip_reasons()
        elif self.screen == "thanks" and elapsed >= self.timing.thanks_seconds:
            self._show(self._rest)
        elif self.screen == "comment" and elapsed >= self.timing.comment_timeout:
            self._show(self._rest)
        elif self.screen == "signin" and elapsed >= self.timing.signin_timeout:
            self._show(self._rest)
        elif self.screen == "ready" and self.invite_mode and now >= self._invited_until:
            self._show("idle")

    def _rate(self, score: int, reasons: tuple[str, ...]) -> None:
        self._pending_score = None
        self._invited_until = float("-inf")  # one invitation, one rating
        self.last_rating = self._record("rating", score=score, scale=self.config.scale, reasons=reasons)
        self._show("thanks")
