"""Settings an admin changes in the web app, each a JSON value under a key."""
from __future__ import annotations

import json
from typing import Any

from server.store.base import StoreBase

DEVICE_RATE = "device_rate"
DEFAULT_DEVICE_RATE = 120   # events per minute: far above any hall's customers and clerk
MAX_DEVICE_RATE = 100_000
MIN_SAMPLE = "min_sample"  # ratings a window or clerk needs to be ranked (server/domain/ranking.py)
DEFAULT_MIN_SAMPLE = 30
MAX_MIN_SAMPLE = 100_000


class SettingsQueries(StoreBase):
    def setting(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        self.db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, json.dumps(value, ensure_ascii=False)))

    def _count(self, key: str, default: int) -> int:
        """A stored whole number of at least 1; `default` when none is stored or it is not one."""
        value = self.setting(key, default)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else default

    def _set_count(self, key: str, value: int, most: int, what: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise ValueError(f"{what} must be an integer from 1 to {most}")
        self.set_setting(key, value)

    # ------------------------------------------------------------ the kiosks' event quota (server/ingest/ingestor.py)
    def device_rate(self) -> int:
        """The most new events a kiosk may send per minute of its own clock; beyond it they are rejected."""
        return self._count(DEVICE_RATE, DEFAULT_DEVICE_RATE)

    def set_device_rate(self, per_minute: int) -> None:
        self._set_count(DEVICE_RATE, per_minute, MAX_DEVICE_RATE, "events per minute")

    # ------------------------------------------------------------ rankings (server/domain/ranking.py)
    def min_sample(self) -> int:
        """The fewest ratings a window or clerk needs in a period to be ranked."""
        return self._count(MIN_SAMPLE, DEFAULT_MIN_SAMPLE)

    def set_min_sample(self, ratings: int) -> None:
        self._set_count(MIN_SAMPLE, ratings, MAX_MIN_SAMPLE, "the minimum sample")
