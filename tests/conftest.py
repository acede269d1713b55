"""Fixtures with real parts: a Mosquitto per test session, a small real disk; markers by folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from ceval.demo.broker import Mosquitto

from .helpers import clear_retained
from .small_disk import small_disk_at

HERE = Path(__file__).resolve().parent
MARKED_FOLDERS = {HERE / "e2e": "e2e", HERE / "web": "browser"}


def pytest_collection_modifyitems(items):
    for item in items:
        for folder, marker in MARKED_FOLDERS.items():
            if item.path.is_relative_to(folder):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def session_broker(tmp_path_factory):
    mosquitto = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def broker(session_broker):
    """The session's broker, shared by tests that do not break it. What a test leaves retained on it (its
    kiosks' last statuses, their configs) is cleared after it: the next test's collector would take those
    kiosks for its own."""
    yield session_broker
    clear_retained(session_broker)


@pytest.fixture
def own_broker(tmp_path):
    """A broker of the test's own, for tests that kill it."""
    mosquitto = Mosquitto(tmp_path / "mosquitto").start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A real tmpfs of 1 MiB that the test fills and frees (mounting needs root: a test fails without it)."""
    with small_disk_at(tmp_path / "disk") as disk:
        yield disk
