"""The server's background work besides collecting: tasks that run every so often on their own thread
and their own database connection, so a task that fails, or waits (for the database, a mail server), holds up
neither ingestion nor a page. They share this process's interpreter lock with the web app and a lone
collector's MQTT thread, though: what a task computes must stay linear in what it reads, since a kiosk
decides how much that is (server/domain/misuse.py's checks of a window-day, for one)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from server.store import Store
from server.store.db import open_db
from shared.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class Task(Protocol):
    name: str
    interval: float  # seconds between runs

    def run(self, store: Store, now: datetime) -> None: ...


def default_tasks(config: Mapping) -> list[Task]:
    """The tasks `ceval server` runs, set up from the web app's config."""
    from server.followup.alerts import AlertTask
    from server.followup.delivery import DeliveryTask
    from server.followup.misuse import MisuseTask
    from server.ops.retention import RetentionTask
    from server.reporting.scheduled import ReportTask
    return [
        ReportTask.from_config(config),
        AlertTask.from_config(config),
        DeliveryTask.from_config(config),
        MisuseTask.from_config(config),
        RetentionTask.from_config(config),
    ]


class Jobs:
    def __init__(self, db_path: str | Path, tasks: Sequence[Task], clock: Clock | None = None):
        self.db_path = db_path
        self.tasks = list(tasks)
        self.clock = clock or SystemClock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobs", daemon=True)

    def start(self) -> None:
        if self.tasks:
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        store = Store(open_db(self.db_path, migrate=False))
        due = {task.name: 0.0 for task in self.tasks}
        try:
            while not self._stop.is_set():
                for task in self.tasks:
                    if self._stop.is_set() or self.clock.monotonic() < due[task.name]:
                        continue
                    try:
                        task.run(store, self.clock.now())
                    except Exception:  # one task's fault is logged; the others and the next run go on
                        log.exception("background task %s failed", task.name)
                    due[task.name] = self.clock.monotonic() + task.interval
                wait = min(due.values()) - self.clock.monotonic()
                self._stop.wait(max(0.05, min(wait, 1.0)))
        finally:
            store.db.close()
