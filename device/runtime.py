"""One kiosk put together: outbox, core and publisher, shared by the screen,
the GPIO inputs and the simulator so every press takes the same path.

Inputs reach the core through `act()`, which serialises them (the screen, the
GPIO poll, the simulator and the publisher's config and invite callbacks may
all call it). Each event the core commits to the outbox wakes the publisher.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from shared.clock import Clock, SystemClock
from shared.contract import Config, ContractError, Invite, Status, default_title, parse_config
from shared.timefmt import format_ts
from shared.version import PRODUCT_VERSION

from .core import Kiosk
from .gpio import GpioInputs, GpioSettings, InvitePressed, ScorePressed, SensorHealth, SignChanged
from .outbox import Outbox
from .publisher import Publisher
from .settings import KioskSettings
from .signing_key import SigningKey

log = logging.getLogger(__name__)
T = TypeVar("T")


class KioskRuntime:
    def __init__(self, settings: KioskSettings, clock: Clock | None = None, pin_factory=None):
        self.settings = settings
        self.clock = clock or SystemClock()
        self.inputs = self._gpio(pin_factory)
        self.sensor = self.inputs.health if self.inputs else None
        self._lock = threading.RLock()
        self.key = SigningKey.load_or_create(settings.data_dir)
        self.outbox = Outbox(settings.outbox_path, self.key)
        self.kiosk = Kiosk(_WakingOutbox(self), self.clock, settings.window, self._saved_config(),
                           settings.timing, settings.invite_mode)
        self.publisher = Publisher(settings.device, settings.broker, self.outbox, self._status, self._config_arrived,
                                   username=settings.username, password=settings.password,
                                   ack_timeout=settings.ack_timeout, on_invite=self._invite_arrived,
                                   tls=settings.tls)
        self._storage = self.kiosk.storage
        self.kiosk.subscribe(self._storage_changed)

    def _gpio(self, pin_factory):
        gpio = GpioSettings.from_toml(self.settings.gpio) if self.settings.gpio else None
        return GpioInputs(gpio, self.clock, pin_factory) if gpio and gpio.enabled else None

    def start(self) -> None:
        """Connect, and state the away sign's position as the sensor reads it now."""
        self.publisher.start()
        sign_out = self.inputs is not None and self.inputs.health != "unplugged" and self.inputs.away
        self.act(self.kiosk.start, "away" if sign_out else "present")

    def stop(self) -> None:
        self.publisher.stop()
        if self.inputs:
            self.inputs.close()
        self.outbox.close()

    def poll(self) -> None:
        """Called every ~20 ms by the screen or the headless loop: the GPIO inputs and time act."""
        for event in self.inputs.poll() if self.inputs else ():
            if isinstance(event, SignChanged):
                self.act(self.kiosk.sign, event.away)
            elif isinstance(event, ScorePressed):
                if event.score <= self.kiosk.config.scale:
                    self.act(self.kiosk.press, event.score)
                else:
                    log.warning("button for %d pressed, but the scale is %d", event.score, self.kiosk.config.scale)
            elif isinstance(event, InvitePressed):
                self.act(self.kiosk.invite)
            elif isinstance(event, SensorHealth):
                log.warning("away-sign sensor: %s", event.state)
                self.sensor = event.state
                self.publisher.wake()
        self.act(self.kiosk.tick)

    def act(self, action: Callable[..., T], *args) -> T:
        """Run one input on the core, serialised with every other input."""
        with self._lock:
            return action(*args)

    def _storage_changed(self, kiosk: Kiosk) -> None:
        """The status says at once when the outbox stops (or starts again) storing events."""
        if kiosk.storage != self._storage:
            self._storage = kiosk.storage
            self.publisher.wake()

    # ------------------------------------------------------------ config from the server
    def _saved_config(self) -> Config:
        try:
            return parse_config(self.settings.config_path.read_bytes())
        except FileNotFoundError:
            return self._default_config()
        except ContractError as exc:
            log.warning("saved config %s is unusable (%s); using defaults", self.settings.config_path, exc.reason)
            return self._default_config()

    def _default_config(self) -> Config:
        """Until the server's config arrives: the window's default title in the kiosk's own language."""
        return Config(title=default_title(self.settings.window), language=self.settings.language)

    def _config_arrived(self, config: Config) -> None:
        """Apply the server's config, and keep it for the next start (a full disk only loses the copy)."""
        path = self.settings.config_path
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(config.to_json())
            os.replace(tmp, path)
        except OSError as exc:
            log.error("config from the server not saved to %s (%s); applied all the same", path, exc)
            tmp.unlink(missing_ok=True)
        self.act(self.kiosk.apply_config, config)
        log.info("applied config from the server: %s", json.dumps(config.title, ensure_ascii=False))

    def _invite_arrived(self, invite: Invite) -> None:
        """The server invites a rating for a case number (from the publisher's thread)."""
        opened = self.act(self.kiosk.invite_for_case, invite)
        log.info("invite %d for case %s arrived (%s)", invite.id, invite.case,
                 "buttons open" if opened else f"kiosk shows {self.kiosk.shown}")

    def _status(self) -> Status:
        publisher = self.publisher
        ignored = None
        if publisher.last_ignored_ack is not None:
            upto_seq, when = publisher.last_ignored_ack
            ignored = {"count": publisher.ignored_acks, "upto_seq": upto_seq, "ts": when}
        return Status(online=True, ts=format_ts(self.clock.now()), window=self.settings.window,
                      presence=self.kiosk.presence, outbox=self.outbox.count(), version=PRODUCT_VERSION,
                      sensor=self.sensor, storage=self.kiosk.storage, ignored_acks=ignored, key=self.key.public_key)


class _WakingOutbox:
    """The outbox as the core sees it: each committed event wakes the publisher."""

    def __init__(self, runtime: KioskRuntime):
        self._runtime = runtime

    def append(self, **fields):
        event = self._runtime.outbox.append(**fields)
        self._runtime.publisher.wake()
        return event
