"""An event sink in memory for the kiosk core's tests: what the core would have put in its outbox."""
from __future__ import annotations

from shared.contract import Event


class MemorySink:
    def __init__(self):
        self.events: list[Event] = []

    def append(self, **fields) -> Event:
        event = Event(id=f"event-{len(self.events) + 1:04d}", stream="stream-01", seq=len(self.events) + 1, **fields)
        self.events.append(event)
        return event
