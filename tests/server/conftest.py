"""The server's tests' fixtures: a real SQLite file, the Store and the web app on it, a clock that moves only when
told to. What differs between test modules is said by overriding `clock_start`, `seed_store` or `client_user`."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.store import Store
from server.store.db import open_db
from server.web.app import create_app
from shared.clock import FakeClock

from .web import session

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


@pytest.fixture
def clock_start():
    """Where `clock` starts; a module whose tests need another moment overrides this."""
    return NOW


@pytest.fixture
def clock(clock_start):
    return FakeClock(clock_start)


@pytest.fixture
def database(tmp_path):
    """The test's server database: the Store's and the web app's."""
    return tmp_path / "server.sqlite3"


@pytest.fixture
def app(database, clock):
    return create_app({"DATABASE": str(database), "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test-secret"})


@pytest.fixture
def blank_store(database):
    """A Store on the test's database: the schema and nothing in it."""
    store = Store(open_db(database))
    yield store
    store.db.close()


@pytest.fixture
def seed_store(blank_store):
    """What the module's tests find in `store`: nothing here; a module overrides this to fill `blank_store`."""


@pytest.fixture
def store(blank_store, seed_store):
    """The Store on the test's database, filled by `seed_store`."""
    return blank_store


@pytest.fixture
def client_user():
    """Who `client` is logged in as, (name, password); no one here; a module may override this."""
    return None


@pytest.fixture
def client(app, store, client_user):
    """A test client of the app on the store's data, logged in as `client_user` if there is one."""
    return session(app, *client_user)[0] if client_user else app.test_client()
