"""The web app on a real SQLite file, with a clock that moves only when told to."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.web.app import create_app
from shared.clock import FakeClock

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def app(tmp_path, clock):
    return create_app({"DATABASE": str(tmp_path / "server.sqlite3"), "CLOCK": clock, "TESTING": True,
                       "SECRET_KEY": "test-secret"})
