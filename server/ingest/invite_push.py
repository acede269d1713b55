"""Sending the invites of the API (a rating for a case number) to the kiosks, from the collector's thread.

Every quarter of a second `run()` looks for invites not yet sent nor expired whose kiosk is online
(one indexed query) and publishes each at QoS 1, not retained, on `ceval/v1/{device}/invite`. An
invite counts as sent once the broker acknowledged it (`published(mid)`); one not acknowledged within
a few seconds is published again under the same id, which the kiosk acts on once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from server.store import Store
from shared.clock import Clock
from shared.contract import MAX_INVITE_TTL, Invite
from shared.timefmt import format_ts, to_ms
from shared.topics import topic

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.25     # how often the invites table is looked at
RESEND_SECONDS = 5.0     # a publish the broker has not acknowledged by then is sent again
INVITE_WAIT_SECONDS = 120   # how long an invite may wait for its kiosk (to be online, to be free)

# publish(topic, payload) -> the message id when paho took it, None when it could not
Publish = Callable[[str, bytes], "int | None"]


class InvitePush:
    def __init__(self, store: Store, clock: Clock, publish: Publish):
        self.store = store
        self.clock = clock
        self.publish = publish
        self.sent = 0
        self._next_check = float("-inf")
        self._in_flight: dict[int, tuple[int, float]] = {}  # mid -> (invite id, monotonic when published)

    def due(self) -> bool:
        """Cheap: whether `run()` should look at the invites now."""
        return self.clock.monotonic() >= self._next_check

    def run(self) -> None:
        mono = self.clock.monotonic()
        self._next_check = mono + CHECK_SECONDS
        moment = self.clock.now()
        now = to_ms(moment)
        rows = self.store.invites.due_invites(now, now - INVITE_WAIT_SECONDS * 1000)
        waiting = {row[0] for row in rows}
        self._in_flight = {mid: f for mid, f in self._in_flight.items()
                           if f[0] in waiting or mono - f[1] < RESEND_SECONDS}
        published = {invite_id: at for invite_id, at in self._in_flight.values()}
        for invite_id, device, case_no, expires_at in rows:
            if invite_id in published and mono - published[invite_id] < RESEND_SECONDS:
                continue
            ttl = max(1, min(MAX_INVITE_TTL, (expires_at - now) // 1000))
            mid = self.publish(topic(device, "invite"), Invite(invite_id, case_no, format_ts(moment), ttl).to_json())
            if mid is None:
                continue
            self._in_flight = {m: f for m, f in self._in_flight.items() if f[0] != invite_id}
            self._in_flight[mid] = (invite_id, mono)
            log.info("invite %d for case %s sent to %s", invite_id, case_no, device)

    def published(self, *mids: int) -> None:
        """The broker acknowledged these messages: the invites among them are now sent."""
        for mid in mids:
            sent = self._in_flight.pop(mid, None)
            if sent is not None:
                self.store.invites.mark_invite_sent(sent[0], to_ms(self.clock.now()))
                self.sent += 1
