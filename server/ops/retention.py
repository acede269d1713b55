"""Retention of raw events: after `days`, the raw message each event arrived as is pruned; every figure stays.

The setting lives in the database (`settings` key "retention", `{"days": N}`), so it travels with backups and
is changed without a restart by `ceval retention --db PATH --days N` (or `--off`). Default: off, every raw
record is kept. Rules for disputes ask for a fixed period (the telecom rule: 5 months, so 150 days or more).

What goes after `days` (counted from the server's receive time):
- `events.payload` is blanked to ''. The row stays: its `id` and (`stream`, `seq`) are what the collector
  de-duplicates against, so a kiosk that sends a very old event again still gets it counted once, and
  ratings, feedback, absences, cases and appeals keep pointing at it.
- but a chained stream's last event of each UTC day keeps its payload: the kiosk signed it, and its `prev`
  names the day's events before it, whose stored `prev` and digest still link up to it (docs/audit.md).
- rejected messages (`rejects` rows) are deleted; each device's count of them stays in `devices.rejected`.

Ratings, feedback, absences, cases and the rest are never touched. The background task works in batches of
`batch` rows, each its own short transaction with a pause between them, so the collector never waits long
for the write lock. Blanked space is reused by new rows; the file does not shrink by itself.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime

from server.store import Store
from shared.timefmt import DAY_MS, to_ms

log = logging.getLogger(__name__)

MAX_DAYS = 36_500


class RetentionTask:
    """Prunes what the retention setting lets go, on the jobs thread (server/jobs.py)."""

    name = "retention"

    def __init__(self, interval: float = 600.0, batch: int = 2000, max_batches: int = 100, pause: float = 0.05):
        self.interval = float(interval)
        self.batch = batch
        self.max_batches = max_batches  # per run, so the other tasks on the thread get their turn
        self.pause = pause  # seconds between batches: the collector takes the write lock in between

    @classmethod
    def from_config(cls, config: Mapping) -> RetentionTask:
        return cls(float(config.get("RETENTION_INTERVAL", 600)))

    def run(self, store: Store, now: datetime) -> None:
        days = store.maintenance.retention_days()
        if days is None:
            return
        cutoff = to_ms(now) - days * DAY_MS
        blanked = deleted = 0
        for _ in range(self.max_batches):
            n, more = store.maintenance.prune_payloads(cutoff, self.batch)
            blanked += n
            if not more:
                break
            self._rest()
        for _ in range(self.max_batches):
            n, more = store.maintenance.delete_old_rejects(cutoff, self.batch)
            deleted += n
            if not more:
                break
            self._rest()
        if blanked or deleted:
            log.info("retention (%d days): pruned %d raw event payloads, deleted %d rejected messages",
                     days, blanked, deleted)

    def _rest(self) -> None:
        if self.pause:
            time.sleep(self.pause)


def parse_days(value: str) -> int:
    """A retention period given on the command line: whole days, 1 to 36500."""
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"retention must be 1 to {MAX_DAYS} days, not {days}")
    return days
