"""systemd's notify protocol without dependencies: READY=1, WATCHDOG=1, STATUS=..., STOPPING=1.

systemd passes `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace) and, with
`WatchdogSec=`, `WATCHDOG_USEC` to the service. The kiosk says READY=1 once its loop runs and
then beats from that same loop (the Kivy Clock, or the headless loop): a loop that hangs stops
beating, and systemd restarts the kiosk. Outside systemd (no NOTIFY_SOCKET) every call does nothing.

Under cage the kiosk is cage's child, not the unit's main process, so `WATCHDOG_PID` names cage:
the unit sets `NotifyAccess=all` and the kiosk beats whatever `WATCHDOG_PID` says.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 10.0  # seconds between beats when systemd gives no WATCHDOG_USEC


def socket_address(value: str) -> str | bytes:
    """NOTIFY_SOCKET as `socket.sendto` takes it: `@name` is the abstract name `\\0name`."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class Notifier:
    """Sends datagrams to systemd's notify socket; `address` None means not under systemd."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None):
        self.address = address or None
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        usec = None
        raw = env.get("WATCHDOG_USEC")
        if raw:
            try:
                usec = int(raw)
            except ValueError:
                log.warning("WATCHDOG_USEC %r is not a number of microseconds; beating every %.0f s",
                            raw, DEFAULT_INTERVAL)
            else:
                if usec <= 0:
                    usec = None
        return cls(env.get("NOTIFY_SOCKET"), usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def interval(self) -> float:
        """Seconds between beats: half the watchdog's timeout, as sd_watchdog_enabled(3) advises."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec else DEFAULT_INTERVAL

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` lines in one datagram; False when not under systemd or the send failed."""
        if not self.enabled:
            return False
        message = "\n".join(assignments).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, socket_address(self.address))
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class Watchdog:
    """The kiosk's side of `Type=notify` + `WatchdogSec=`: call `beat()` from the loop as often as
    you like; a WATCHDOG=1 goes out once per interval, with the STATUS line `status()` gives."""

    def __init__(self, notifier: Notifier, status: Callable[[], str] | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.notifier = notifier
        self._status = status
        self._monotonic = monotonic
        self._last: float | None = None
        self.beats = 0

    def ready(self) -> None:
        """The loop runs: systemd counts the kiosk as started, and the first beat goes out."""
        self.notifier.notify("READY=1", *self._status_line())
        self._beat_now()

    def beat(self) -> None:
        if self._last is None or self._monotonic() - self._last >= self.notifier.interval:
            self._beat_now()

    def stopping(self) -> None:
        self.notifier.notify("STOPPING=1", "STATUS=stopping")
        self.notifier.close()

    def _beat_now(self) -> None:
        self._last = self._monotonic()
        if self.notifier.notify("WATCHDOG=1", *self._status_line()):
            self.beats += 1

    def _status_line(self) -> list[str]:
        if self._status is None:
            return []
        try:
            text = " ".join(self._status().split())  # one line: a newline would end the assignment
        except Exception:  # a status that fails must not stop the beat
            log.exception("kiosk status for systemd failed")
            return []
        return [f"STATUS={text}"]
