"""Keeping every confirmed kiosk's retained config up to date, from the collector's own thread.

Every 1.5 seconds `run()` reads the few registry rows a config is made of; only when they
changed, or a comment token is due for a refresh, does it build configs and publish the ones
that differ from what the kiosk was last sent. A config counts as sent once the broker
acknowledged it (`published(mid, ...)`: the collector hands on paho's on_publish once a round).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from server.domain.comment_token import TOKEN_LIFETIME_SECONDS, make_token
from server.domain.kiosk_config import Clerk, Target, build_config, due, version, with_token
from server.store import Store
from shared.clock import Clock
from shared.timefmt import from_ms, to_ms
from shared.topics import topic

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.5      # how often the registry is looked at: a new title shows within 2 s
RESEND_SECONDS = 30.0    # a publish the broker has not acknowledged by then is sent again

# publish(topic, payload) -> the message id when paho took it, None when it could not
Publish = Callable[[str, bytes], "int | None"]


class ConfigPush:
    def __init__(self, store: Store, clock: Clock, publish: Publish, secret: str, public_url: str | None = None,
                 token_lifetime: float = TOKEN_LIFETIME_SECONDS):
        self.store = store
        self.clock = clock
        self.publish = publish
        self.secret = secret
        self.public_url = public_url.rstrip("/") if public_url else None
        self.token_lifetime = token_lifetime
        self.sent = 0
        self._next_check = float("-inf")
        self._seen: str | None = None          # hash of the rows the configs were last built from
        self._refresh_at: int | None = None    # epoch ms when the oldest token is due for a refresh
        self._in_flight: dict[int, tuple[str, str, int, float]] = {}  # mid -> (device, version, sent_at, monotonic)

    @property
    def refresh_ms(self) -> int | None:
        """A kiosk gets a fresh token once its token is half its lifetime old."""
        return int(self.token_lifetime * 500) if self.public_url else None

    def due(self) -> bool:
        """Cheap: whether `run()` should look at the registry now."""
        return self.clock.monotonic() >= self._next_check

    def run(self) -> None:
        mono = self.clock.monotonic()
        self._next_check = mono + CHECK_SECONDS
        targets_rows, roster_rows = self.store.kiosk_config.config_targets(), self.store.kiosk_config.site_rosters()
        seen = hashlib.sha256(repr((targets_rows, roster_rows)).encode()).hexdigest()
        now = to_ms(self.clock.now())
        stale = any(mono - t >= RESEND_SECONDS for *_, t in self._in_flight.values())
        if seen == self._seen and not stale and (self._refresh_at is None or now < self._refresh_at):
            return
        self._seen = seen
        rosters: dict[str, list[Clerk]] = {}
        for site, staff, name, pin_hash in roster_rows:
            rosters.setdefault(site, []).append(Clerk(staff, name, pin_hash))
        pending = {device: t for device, _, _, t in self._in_flight.values()}
        refresh_at = []
        for row in targets_rows:
            target = Target(*row)
            config = build_config(target, rosters.get(target.site, ()) if target.site else (), self.public_url)
            config_version = version(config)
            if not due(target, config_version, now, self.refresh_ms):
                if self.refresh_ms is not None:
                    refresh_at.append(target.sent_at + self.refresh_ms)
                continue
            if target.device in pending and mono - pending[target.device] < RESEND_SECONDS:
                self._seen = None  # look again next time: its ack may not come
                continue
            self._send(target, config, config_version, now, mono)
            if self.refresh_ms is not None:
                refresh_at.append(now + self.refresh_ms)
        self._refresh_at = min(refresh_at, default=None)

    def _send(self, target: Target, config, config_version: str, now: int, mono: float) -> None:
        token = make_token(self.secret, target.window, from_ms(now)) if config.comment_url else ""
        payload = with_token(config, token).to_json()
        mid = self.publish(topic(target.device, "config"), payload)
        if mid is None:
            self._seen = None
            return
        self._in_flight = {m: f for m, f in self._in_flight.items() if f[0] != target.device}
        self._in_flight[mid] = (target.device, config_version, now, mono)
        log.info("config sent to %s (window %s, %d clerks, comment link: %s)", target.device, target.window,
                 len(config.roster), "yes" if config.comment_url else "no")

    def published(self, *mids: int) -> None:
        """The broker acknowledged these messages: the kiosks' configs among them are now sent (recorded in one
        transaction)."""
        done = [self._in_flight.pop(mid) for mid in mids if mid in self._in_flight]
        if done:
            self.store.kiosk_config.mark_configs_sent([(device, version, at) for device, version, at, _ in done])
            self.sent += len(done)

