"""The kiosk's pure core: what the customer and the clerk can do, and what it records.

Screens: `ready` (the rating buttons) -> `rated` (the reason question after a
low score) -> `thanks` -> (optionally `comment`, the opinion book) -> `ready`.
In invite mode the kiosk rests on `idle` and shows `ready` only for a few
seconds after the clerk's 请评价. The clerk signs in on `signin`. The away
sign overrides every screen with `away`.

The server can invite too, for a case number (办件编号) from the window's
business system: the buttons open as for 请评价 (in either mode) and the
rating given in that time carries the case. An invite that comes while the
kiosk is busy with the previous customer waits until it is back at rest.

Every recorded fact goes to the outbox before the screen moves on, and the
customer is thanked only for a rating the outbox stored. When it cannot store
(`NotStored`: a full disk), the kiosk thanks no one: it shows the buttons again
(for a rating, while its invitation lasts) or its resting screen, with
`storage` set ("full" or "error": the screen says so, the status reports it);
the next event stored clears it. No library here: time comes from a Clock,
events go to an outbox.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.clock import Clock
from shared.contract import Config, Event, Invite
from shared.pins import verify_pin
from shared.scoring import is_bad
from shared.timefmt import format_ts

from .screens import AT_REST, AWAY, COMMENT, IDLE, RATED, READY, SIGNIN, THANKS

log = logging.getLogger(__name__)


class NotStored(Exception):
    """The outbox could not store an event; `full` when the disk is full (else another write fault)."""

    def __init__(self, cause: str, full: bool):
        super().__init__(cause)
        self.full = full


class EventSink(Protocol):
    def append(self, **fields) -> Event:
        """Store the event durably and return it, or raise NotStored."""


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
        self._counted_before: float | None = None  # the one before: restored when a rating is not stored
        self._invited_until = float("-inf")
        self.case: str | None = None  # the case number of the open invitation; the next rating carries it
        self._waiting: tuple[str, float] | None = None  # (case, until when) of an invite for when the kiosk rests
        self._invites_seen: deque[int] = deque(maxlen=64)  # ids acted on: a QoS 1 copy opens nothing again
        self._failed_pins: list[float] = []
        self.storage: str | None = None  # "full" or "error" while the outbox cannot store events
        self._listeners: list[Callable[[Kiosk], None]] = []

    # ------------------------------------------------------------ observing
    @property
    def shown(self) -> str:
        """The screen the customer sees."""
        return AWAY if self.presence == "away" else self.screen

    @property
    def clerk(self) -> dict[str, str] | None:
        """The clerk on duty: who signed in here, else who the server's config names."""
        return self.signed_in or self.config.staff

    @property
    def staff(self) -> str | None:
        return self.clerk["id"] if self.clerk else None

    @property
    def _rest(self) -> str:
        return IDLE if self.invite_mode else READY

    def subscribe(self, listener: Callable[[Kiosk], None]) -> None:
        self._listeners.append(listener)

    def _show(self, screen: str) -> None:
        if screen == self._rest and self._waiting is not None and self.presence != "away":
            screen = self._open_waiting() or screen
        if screen == IDLE:
            self.case = None  # no buttons, no open invitation
        self.screen = screen
        self._screen_since = self.clock.monotonic()
        for listener in self._listeners:
            listener(self)

    def _record(self, kind: str, **fields) -> Event | None:
        """Store an event; None when the outbox could not (logged with its cause, `storage` set)."""
        try:
            event = self.outbox.append(
                ts=format_ts(self.clock.now()), window=self.window, type=kind, staff=self.staff, **fields
            )
        except NotStored as exc:
            self.storage = "full" if exc.full else "error"
            log.error("%s event not stored (storage %s): %s", kind, self.storage, exc)
            return None
        if self.storage is not None:
            log.warning("the outbox stores events again")
            self.storage = None
        return event

    # ------------------------------------------------------------ the customer
    def start(self, presence: str = "present") -> None:
        """After every start the kiosk states the away sign's position."""
        self.presence = presence
        self._record("presence", state=presence)
        self._show(self._rest)

    def press(self, score: int) -> bool:
        """A customer pressed a rating button. Returns whether it counted."""
        if self.presence == "away" or self.screen != READY:
            return False
        now = self.clock.monotonic()
        if self._last_counted is not None and now - self._last_counted < self.timing.min_interval:
            log.info("press of %d ignored: %.1f s after the last counted one", score, now - self._last_counted)
            return False
        if not 1 <= score <= self.config.scale:
            raise ValueError(f"score {score} is outside 1..{self.config.scale}")
        self._counted_before, self._last_counted = self._last_counted, now
        if is_bad(score, self.config.scale) and self.config.reasons:
            self._pending_score = score
            self._show(RATED)
        else:
            self._rate(score, ())
        return True

    def choose_reasons(self, codes: list[str] | tuple[str, ...]) -> None:
        """The customer answered the reason question (an empty answer is a skip)."""
        if self.screen != RATED or self._pending_score is None:
            return
        known = {r["code"] for r in self.config.reasons}
        self._rate(self._pending_score, tuple(dict.fromkeys(c for c in codes if c in known)))

    def skip_reasons(self) -> None:
        self.choose_reasons(())

    def open_comment(self) -> bool:
        """留言 on the thank-you screen: the quick phrases (and the QR code) for the opinion book."""
        if self.shown != THANKS:
            return False
        self._show(COMMENT)
        return True

    def comment(self, text: str) -> Event | None:
        """A comment for the opinion book, tied to the rating just made (thanked for only when stored)."""
        if self.shown not in (THANKS, COMMENT):
            return None
        event = self._record("feedback", text=text, rating=self.last_rating.id if self.last_rating else None)
        self._show(THANKS if event else self._rest)
        return event

    def close(self) -> None:
        """Back to the resting screen from the thank-you, the comments or the sign-in."""
        if self.screen in (THANKS, COMMENT, SIGNIN):
            self._show(self._rest)

    # ------------------------------------------------------------ the clerk
    def sign(self, away: bool) -> None:
        """The away sign was put out (True) or taken back (False)."""
        state = "away" if away else "present"
        if state == self.presence:
            return
        if away and self.screen == RATED:
            self.skip_reasons()  # never lose a rating the customer already gave
        if away:
            self._drop_invitation("the away sign went out")
        self.presence = state
        self._record("presence", state=state)
        self._show(self._rest)

    def invite(self) -> bool:
        """The clerk's 请评价: in invite mode, the buttons count for `invite_seconds` (an open case stays)."""
        if not self.invite_mode or self.presence == "away" or self.screen not in AT_REST:
            return False
        self._invited_until = self.clock.monotonic() + self.timing.invite_seconds
        self._show(READY)
        return True

    def invite_for_case(self, invite: Invite) -> bool:
        """The server's invite for a case number: like 请评价, and the rating carries `invite.case`.

        Returns whether it opened the buttons now. While away it is dropped; while the kiosk is busy
        (reason question, thank-you, comments, sign-in) it waits, at most `invite.ttl` seconds.
        A newer invite replaces an open or waiting one; an id seen before is a duplicate and ignored.
        """
        if invite.id in self._invites_seen:
            log.info("invite %d for case %s arrived again; ignored", invite.id, invite.case)
            return False
        self._invites_seen.append(invite.id)
        if self.presence == "away":
            log.warning("invite %d for case %s dropped: the clerk is away", invite.id, invite.case)
            return False
        self._waiting = (invite.case, self.clock.monotonic() + invite.ttl)
        if self.screen not in AT_REST:  # an open case stays with the rating under way
            log.info("invite %d for case %s waits: the kiosk shows %s", invite.id, invite.case, self.screen)
            return False
        if self.case is not None:
            log.warning("case %s was not rated; case %s replaces it", self.case, invite.case)
            self.case = None
        self._show(self._rest)
        return True

    def _open_waiting(self) -> str | None:
        """Open the buttons for the waiting invite, unless it waited too long; return the screen to show."""
        case, until = self._waiting
        self._waiting = None
        now = self.clock.monotonic()
        if now >= until:
            log.warning("invite for case %s lapsed while the kiosk was busy", case)
            return None
        self.case = case
        self._invited_until = now + self.timing.invite_seconds
        log.info("invited a rating for case %s", case)
        return READY

    def _drop_invitation(self, why: str) -> None:
        if self.case is not None or self._waiting is not None:
            log.warning("invite for case %s dropped: %s", self.case or self._waiting[0], why)
        self.case = None
        self._waiting = None
        self._invited_until = float("-inf")

    def open_sign_in(self) -> bool:
        if self.presence == "away" or self.screen not in AT_REST or not self.config.roster:
            return False
        self._show(SIGNIN)
        return True

    def sign_in(self, staff_id: str, pin: str) -> bool:
        """Check the PIN against the roster offline; a signed-in clerk is the staff of every event."""
        if self.screen != SIGNIN or self.signin_locked:
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
        self._show(self._rest if self.screen == SIGNIN else self.screen)

    @property
    def signin_locked(self) -> bool:
        recent = [t for t in self._failed_pins if self.clock.monotonic() - t < self.timing.signin_lockout]
        self._failed_pins = recent
        return len(recent) >= self.timing.signin_attempts

    # ------------------------------------------------------------ the server and time
    def apply_config(self, config: Config) -> None:
        """A new config from the server; a change of clerk is recorded."""
        old_staff = self.staff
        if self.screen == RATED and config.scale != self.config.scale:
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
        if self.screen == RATED and elapsed >= self.timing.reasons_timeout:
            self.skip_reasons()
        elif self.screen == THANKS and elapsed >= self.timing.thanks_seconds:
            self._show(self._rest)
        elif self.screen == COMMENT and elapsed >= self.timing.comment_timeout:
            self._show(self._rest)
        elif self.screen == SIGNIN and elapsed >= self.timing.signin_timeout:
            self._show(self._rest)
        elif self.screen == READY and now >= self._invited_until and (self.invite_mode or self.case is not None):
            if self.case is not None:
                log.info("case %s was not rated within %.0f s", self.case, self.timing.invite_seconds)
                self.case = None
            self._show(self._rest)
        elif self._waiting is not None and now >= self._waiting[1]:
            log.warning("invite for case %s lapsed while the kiosk was busy", self._waiting[0])
            self._waiting = None

    def _rate(self, score: int, reasons: tuple[str, ...]) -> None:
        self._pending_score = None
        invited_until, self._invited_until = self._invited_until, float("-inf")  # one invitation, one rating
        case, self.case = self.case, None
        rating = self._record("rating", score=score, scale=self.config.scale, reasons=reasons, case=case)
        if rating is None:  # not stored: no thanks; the buttons stay for another try, at once
            self._last_counted = self._counted_before
            self._invited_until, self.case = invited_until, case
            self._show(READY if self.clock.monotonic() < invited_until else self._rest)
            return
        self.last_rating = rating
        self._show(THANKS)
