"""Fixtures of the end-to-end tests: the shipped broker configuration with its accounts."""
from __future__ import annotations

import pytest

from ..helpers import ServerProcess
from .shipped_broker import shipped_hall


@pytest.fixture
def hall():
    """The shipped broker configuration running: the collector's account, kiosks k-a (w-a) and k-b (w-b)."""
    with shipped_hall() as hall:
        yield hall


@pytest.fixture
def server(hall):
    """`ceval server --strict` on the hall's database, with the collector's account."""
    process = ServerProcess(hall.db, hall.url, "--strict", env=hall.collector_env()).start()
    try:
        yield process
    finally:
        process.stop()
