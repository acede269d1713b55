"""Background tasks: each on its own schedule, one's failure never stops the others."""
from __future__ import annotations

from server.jobs import Jobs
from server.store.db import open_db

from ..helpers import wait_for


class Counting:
    def __init__(self, name, interval, fail=False):
        self.name, self.interval, self.fail, self.runs = name, interval, fail, 0

    def run(self, store, now):
        self.runs += 1
        store.db.execute("SELECT 1").fetchone()  # it gets a working store of its own
        if self.fail:
            raise RuntimeError("broken on purpose")


def test_tasks_run_on_their_schedules_and_survive_each_others_faults(tmp_path):
    open_db(tmp_path / "j.sqlite3").close()
    often, broken, rare = Counting("often", 0.01), Counting("broken", 0.01, fail=True), Counting("rare", 3600)
    jobs = Jobs(tmp_path / "j.sqlite3", [often, broken, rare])
    jobs.start()
    try:
        wait_for(lambda: often.runs >= 5 and broken.runs >= 5, 10, "both frequent tasks to run again and again")
    finally:
        jobs.stop()
    assert rare.runs == 1
