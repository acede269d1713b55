"""The kiosks' event quota: at most `limit` new events per device per minute of the kiosk's own clock.

Counted on the kiosk's clock (the minute of `ts`), not on arrival: a kiosk back from a morning offline sends
its whole outbox at once, hundreds of real ratings in a second, each with the minute it was given in, and
none of them may be lost. A human cannot press 120 times a minute; a stolen password flooding forged events
can, and is held to that rate for every minute it claims. Only events about to be stored count (a resent
duplicate costs nothing). Beyond the quota an event is rejected with a reason starting `rate`.

Episodes: a device's rejections for rate belong to one episode until it has been quiet for QUIET_MS (by the
server's clock); each new episode raises one alert (server/followup/alerts.py, kind `rate`), not one per message.

Both remember at most MAX_DEVICES devices and, per device, MAX_MINUTES minutes (the least recently used are
forgotten: the worst a forged spread of minutes can do is start a forgotten minute afresh).
"""
from __future__ import annotations

from server.domain.bounded import Bounded

MINUTE_MS = 60_000
QUIET_MS = 60_000
MAX_DEVICES = 16_384  # a city of several thousand kiosks, with room
MAX_MINUTES = 64


class EventQuota:
    def __init__(self, max_devices: int = MAX_DEVICES, max_minutes: int = MAX_MINUTES):
        self._counts: Bounded[str, Bounded[int, int]] = Bounded(max_devices)  # device -> minute -> events
        self.max_minutes = max_minutes

    def admit(self, device: str, ts_ms: int, limit: int) -> bool:
        """Count one new event of `device` timed `ts_ms` by its clock; False when its minute is full."""
        minutes = self._counts.get(device)
        if minutes is None:
            minutes = self._counts[device] = Bounded(self.max_minutes)
        minute = ts_ms // MINUTE_MS
        count = minutes.get(minute) or 0
        if count >= limit:
            return False
        minutes[minute] = count + 1
        return True


class RateEpisodes:
    def __init__(self, quiet_ms: int = QUIET_MS, max_devices: int = MAX_DEVICES):
        self.quiet_ms = quiet_ms
        self._last: Bounded[str, int] = Bounded(max_devices)  # device -> its last rejection for rate

    def refused(self, device: str, now: int) -> bool:
        """Note a rejection for rate at `now`; True when it begins a new episode (an alert is due)."""
        last = self._last.get(device)
        self._last[device] = now
        return last is None or now - last >= self.quiet_ms
