"""Keeping the database in shape: the retention of raw payloads (server/ops/retention.py) and its progress.

Pruning blanks `events.payload` (to '') and leaves the row: its id and (stream, seq) are what the collector
de-duplicates against, and ratings, feedback, absences and cases point at it. Rejected messages carry no
figure (a device's count is in `devices.rejected`), so old ones go whole.
"""
from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from server.store.base import StoreBase
from server.store.settings import SettingsQueries
from shared import signing
from shared.timefmt import DAY_MS

RETENTION = "retention"            # setting: {"days": N}; absent or {"days": null}: keep everything
RETENTION_MARK = "retention_mark"  # setting: the events rowid up to which payloads were pruned


class MaintenanceQueries(StoreBase):
    def __init__(self, db: Database, settings: SettingsQueries):
        super().__init__(db)
        self.settings = settings

    def retention_days(self) -> int | None:
        value: Any = self.settings.setting(RETENTION, {})
        days = value.get("days") if isinstance(value, dict) else None
        return days if isinstance(days, int) and days > 0 else None

    def set_retention_days(self, days: int | None) -> None:
        self.settings.set_setting(RETENTION, {"days": days})

    def prune_payloads(self, cutoff: int, limit: int) -> tuple[int, bool]:
        """Blank the payloads of the next `limit` events (by rowid) received before `cutoff` (ms), but for
        each chained stream's daily anchor: the last event of its (UTC) day, or the last stored so far. A kiosk
        signed it, and its chain names every event of the day before it (docs/audit.md).

        Stops early at the first event received at or after the cutoff, or one its stream has not yet
        reached contiguously (the collector still reads the payload of a presence when its stream's mark
        passes it). Returns (payloads blanked, whether more may be waiting now).
        """
        mark = self.settings.setting(RETENTION_MARK, 0)
        rows = self.db.execute(
            "SELECT e.rowid, e.received_at, e.payload != '', s.upto_seq IS NOT NULL AND e.seq > s.upto_seq "
            "FROM events e LEFT JOIN streams s ON s.stream = e.stream WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?",
            (mark, limit)).fetchall()
        upto, blank, more = mark, 0, len(rows) == limit
        for rowid, received_at, has_payload, waiting in rows:
            if received_at >= cutoff or waiting:
                more = False
                break
            upto = rowid
            blank += bool(has_payload)
        if upto == mark:
            return 0, False
        with self.writing():  # the write comes first: no read snapshot to go stale while waiting for the lock
            # a chained event keeps its content's digest, for the chain to be checked without it (docs/audit.md)
            self.db.conn.executemany("UPDATE events SET digest = ? WHERE rowid = ?", [
                (signing.digest(json.loads(payload)), rowid) for rowid, payload in self.db.execute(
                    "SELECT rowid, payload FROM events WHERE rowid > ? AND rowid <= ? AND prev IS NOT NULL "
                    "AND digest IS NULL AND payload != ''", (mark, upto))])
            changed = self.db.execute(
                "UPDATE events SET payload = '' WHERE rowid > ? AND rowid <= ? AND payload != '' AND (prev IS NULL "
                f"OR EXISTS (SELECT 1 FROM events n WHERE n.stream = events.stream AND n.seq = events.seq + 1 "
                f"AND n.at / {DAY_MS} = events.at / {DAY_MS}))", (mark, upto)).rowcount
            self.settings.set_setting(RETENTION_MARK, upto)
        return changed, more

    def delete_old_rejects(self, cutoff: int, limit: int) -> tuple[int, bool]:
        """Delete up to `limit` of the oldest rejected messages received before `cutoff` (ms).
        Returns (rows deleted, whether more may be waiting now)."""
        rows = self.db.execute("SELECT id, received_at FROM rejects ORDER BY id LIMIT ?", (limit,)).fetchall()
        last = None
        for reject_id, received_at in rows:
            if received_at >= cutoff:
                break
            last = reject_id
        if last is None:
            return 0, False
        deleted = self.db.execute("DELETE FROM rejects WHERE id <= ?", (last,)).rowcount
        return deleted, last == rows[-1][0] and len(rows) == limit

    def pruned_payloads(self) -> int:
        """How many events have had their payload pruned."""
        return self.db.execute("SELECT count(*) FROM events WHERE payload = ''").fetchone()[0]
