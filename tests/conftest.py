"""Fixtures with real parts: a Mosquitto per test session, real SQLite files."""
from __future__ import annotations

import pytest

from ceval.demo.broker import Mosquitto


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """The session's broker, shared by tests that do not break it."""
    mosquitto = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def own_broker(tmp_path):
    """A broker of the test's own, for tests that kill it."""
    mosquitto = Mosquitto(tmp_path / "mosquitto").start()
    yield mosquitto
    mosquitto.stop()
