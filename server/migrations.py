"""Every schema change, as a named migration applied once in order."""
from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("counter-eval")


def _run(db: Database, script: str) -> None:
    """Statement by statement: executescript() would commit the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_initial(db: Database) -> None:
    _run(db, """
    CREATE TABLE devices (
        device TEXT PRIMARY KEY,
        window TEXT,
        confirmed INTEGER NOT NULL DEFAULT 0,
        online INTEGER NOT NULL DEFAULT 0,
        presence TEXT,
        outbox INTEGER,
        version TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        rejected INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE windows (
        window TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        device TEXT,
        presence TEXT NOT NULL DEFAULT 'present',
        staff TEXT,
        open_absence INTEGER
    );
    CREATE TABLE streams (
        stream TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        upto_seq INTEGER NOT NULL DEFAULT 0,
        max_seq INTEGER NOT NULL DEFAULT 0,
        gap_since INTEGER
    );
    -- seqs already handled beyond a stream's contiguous upto_seq
    CREATE TABLE stream_ahead (
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (stream, seq)
    ) WITHOUT ROWID;
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        device TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        to_seq INTEGER NOT NULL,
        declared_at INTEGER NOT NULL
    );
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        window TEXT NOT NULL,
        staff TEXT,
        ts TEXT NOT NULL,
        at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        retimed INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL
    );
    CREATE UNIQUE INDEX events_stream_seq ON events (stream, seq);
    CREATE TABLE ratings (
        event_id TEXT PRIMARY KEY REFERENCES events (id),
        window TEXT NOT NULL,
        staff TEXT,
        at INTEGER NOT NULL,
        score INTEGER NOT NULL,
        scale INTEGER NOT NULL,
        reasons TEXT
    );
    CREATE INDEX ratings_window_at ON ratings (window, at, scale, score);
    CREATE INDEX ratings_staff_at ON ratings (staff, at);
    CREATE TABLE feedback (
        event_id TEXT PRIMARY KEY REFERENCES events (id),
        window TEXT NOT NULL,
        staff TEXT,
        at INTEGER NOT NULL,
        text TEXT NOT NULL,
        rating_id TEXT
    );
    CREATE INDEX feedback_window_at ON feedback (window, at);
    CREATE TABLE absences (
        id INTEGER PRIMARY KEY,
        window TEXT NOT NULL,
        staff TEXT,
        start_at INTEGER NOT NULL,
        end_at INTEGER,
        start_event TEXT NOT NULL,
        end_event TEXT
    );
    CREATE INDEX absences_window_start ON absences (window, start_at);
    CREATE TABLE rejects (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        device TEXT,
        topic TEXT NOT NULL,
        reason TEXT NOT NULL,
        stream TEXT,
        seq INTEGER,
        payload BLOB
    );
    CREATE INDEX rejects_device ON rejects (device, received_at);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    """)


@migrations()
def m002_device_sensor(db: Database) -> None:
    """The away-sign sensor's health as the kiosk's status reports it."""
    db.execute("ALTER TABLE devices ADD COLUMN sensor TEXT")


@migrations()
def m003_accounts(db: Database) -> None:
    """Managers' accounts for the web app, and failed log-ins for its rate limit."""
    _run(db, """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
        sites TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX login_failures_key_at ON login_failures (key, at)
    """)


@migrations()
def m004_registry(db: Database) -> None:
    """Sites (halls) with opening hours, windows in sites, the clerk roster, comments from phones,
    the configs sent to kiosks, and one table of timed attempts for every rate limit."""
    _run(db, """
    CREATE TABLE sites (
        site TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'Asia/Shanghai',
        hours TEXT NOT NULL DEFAULT '{}',
        public INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE windows ADD COLUMN site TEXT;
    CREATE TABLE staff (
        staff TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        site TEXT,
        pin_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1
    );
    ALTER TABLE devices ADD COLUMN config_sent TEXT;
    ALTER TABLE devices ADD COLUMN config_sent_at INTEGER;
    ALTER TABLE feedback ADD COLUMN channel TEXT NOT NULL DEFAULT 'kiosk';
    DROP INDEX ratings_staff_at;
    CREATE INDEX ratings_staff_at ON ratings (staff, at, scale, score);
    CREATE INDEX feedback_staff_at ON feedback (staff, at);
    CREATE INDEX absences_staff_start ON absences (staff, start_at);
    ALTER TABLE login_failures RENAME TO attempts;
    DROP INDEX login_failures_key_at;
    CREATE INDEX attempts_key_at ON attempts (key, at)
    """)


@migrations()
def m005_window_clerk(db: Database) -> None:
    """The clerk a manager assigns to a window: the kiosk shows them (config `staff`) until someone signs in."""
    db.execute("ALTER TABLE windows ADD COLUMN clerk TEXT")


@migrations()
def m006_reasons_index(db: Database) -> None:
    """Reasons ranked for a window's range without reading its ratings that gave none."""
    db.execute("CREATE INDEX ratings_window_reasons ON ratings (window, at, reasons) WHERE reasons IS NOT NULL")
