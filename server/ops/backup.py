"""Backing up the server's database while the collector writes, and restoring it with the server stopped.

Backup uses SQLite's online backup API in ONE step (`Connection.backup(pages=-1)`): the whole copy runs inside
one read transaction of the source, so it is the database exactly as it was at one commit. In WAL mode a
reader never blocks a writer, so the collector keeps committing (into the WAL) while the copy runs; it only
keeps the WAL from being checkpointed back until the copy ends. A copy made in several steps would be
restarted by SQLite each time another connection commits between two steps (it could never finish under a
steady stream of events), which is why it is not used. `VACUUM INTO` would be just as consistent (also one
read transaction) but rebuilds every table and index, so it holds the read transaction longer and costs more
CPU; the page copy is the cheaper way to the same snapshot.

The copy is written to a temporary file beside the target, switched to a single self-contained file
(journal mode DELETE), checked (`PRAGMA integrity_check` and the migrations table), synced and only then
renamed over the target, so a backup file is always complete.

Restore refuses while any process has the database open: every SQLite connection to a WAL database holds a
shared lock on the "dead man switch" byte of its `-shm` file for as long as it is open, so if an exclusive
lock on that byte cannot be taken, a server (or someone else) is using it. A BEGIN IMMEDIATE with a short
timeout then catches a writer outside WAL mode. The old database is checkpointed and kept as
`DB.before-restore` (with its `-wal`, should the checkpoint fail), the stale `-wal`/`-shm` files are removed,
and a checked copy of the backup is renamed into place; the backup file itself is left as it was.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

MIGRATION_SET = "counter-eval"
SHM_DMS_BYTE = 128  # SQLite's os_unix.c: the lock bytes of the -shm file start at 120, 8 of them, then the DMS


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


# ---------------------------------------------------------------- checks
def check(path: str | Path) -> dict:
    """Integrity and schema of a database file, with its counts; BackupError when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from None
    try:
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        if verdict != ["ok"]:
            raise BackupError(f"{path} fails the integrity check: " + "; ".join(map(str, verdict)))
        return {"integrity": "ok", **_schema(conn, path), **_counts(conn)}
    except sqlite3.DatabaseError as exc:  # not a database, or damaged beyond what integrity_check can report
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()


def _schema(conn: sqlite3.Connection, path: Path) -> dict:
    from server.store.migrations import migrations

    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "_sqlite_migrations" not in tables or "events" not in tables:
        raise BackupError(f"{path} is not a counter-eval database (no migrations table or no events table)")
    applied = [row[0] for row in conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid", (MIGRATION_SET,))]
    if not applied:
        raise BackupError(f"{path} is not a counter-eval database (no counter-eval migrations applied)")
    known = [m.name for m in migrations._migrations]
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise BackupError(f"{path} was made by a newer counter-eval (migrations {', '.join(unknown)} are unknown "
                          "here): upgrade this server first")
    return {"schema": applied[-1], "pending_migrations": [name for name in known if name not in applied]}


def _counts(conn: sqlite3.Connection) -> dict:
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("events", "ratings", "feedback", "absences")}


# ---------------------------------------------------------------- backup
def backup(db_path: str | Path, out_path: str | Path) -> dict:
    """Copy the live database to `out_path` as one consistent snapshot; return its summary."""
    db_path, out_path = Path(db_path), Path(out_path)
    if not db_path.is_file():
        raise BackupError(f"{db_path} does not exist")
    if out_path.resolve() in {db_path.resolve(), *(Path(f"{db_path.resolve()}{s}") for s in ("-wal", "-shm"))}:
        raise BackupError("the backup must go to another file than the database")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    started = time.monotonic()
    source = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, timeout=30)  # never creates a file
    try:
        source.execute("PRAGMA busy_timeout = 30000")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(str(tmp))
        try:
            source.backup(target, pages=-1)  # one step: one read transaction, one snapshot
            copied = time.monotonic() - started
            target.execute("PRAGMA journal_mode = DELETE")  # a single file, no -wal beside it
        finally:
            target.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"could not copy {db_path}: {exc}") from None
    finally:
        source.close()
    try:
        summary = check(tmp)
        _fsync(tmp)
        os.replace(tmp, out_path)
        _fsync_dir(out_path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    summary = {"backup": str(out_path), "bytes": out_path.stat().st_size, "copy_seconds": round(copied, 3),
               "seconds": round(time.monotonic() - started, 3), **summary}
    log.info("backup of %s written to %s: %s", db_path, out_path, summary)
    return summary


# ---------------------------------------------------------------- restore
def in_use(db_path: str | Path) -> str | None:
    """Why the database looks in use by another process, or None when nobody has it open.

    Opens and closes the `-shm` file, which drops every POSIX lock THIS process holds on it: call it with
    no SQLite connection to the database open in this process.
    """
    db_path = Path(db_path)
    try:
        fd = os.open(f"{db_path}-shm", os.O_RDWR)
    except FileNotFoundError:
        fd = None  # no WAL connection has it open (SQLite makes the -shm on opening)
    except OSError as exc:
        return f"cannot check {db_path}-shm ({exc.strerror}): run the restore as the server's user or root"
    if fd is not None:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
        except OSError:
            return f"a process has {db_path} open (its -shm file is locked)"
        finally:
            os.close(fd)  # releases the lock again
    if db_path.exists():
        conn = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, timeout=1, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            return f"{db_path} is locked by another process ({exc})"
        except sqlite3.DatabaseError:
            pass  # damaged: nothing can be using it usefully, and it is what the restore replaces
        finally:
            conn.close()
    return None


def restore(backup_path: str | Path, db_path: str | Path) -> dict:
    """Put a checked copy of the backup in place of the (stopped) server's database; return its summary."""
    backup_path, db_path = Path(backup_path), Path(db_path)
    summary = check(backup_path)
    reason = in_use(db_path)
    if reason:
        raise BackupError(f"{reason}. Stop the server (e.g. `systemctl stop ceval-server`) and try again; "
                          f"`fuser -v {db_path} {db_path}-wal {db_path}-shm` shows who has it open")
    kept = Path(f"{db_path}.before-restore")
    if db_path.exists() and (kept.exists() or Path(f"{kept}-wal").exists()):
        raise BackupError(f"{kept} exists from an earlier restore: move it away first (it may be the only copy "
                          "of the database as it was before that restore)")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
    try:
        _copy(backup_path, tmp)
        check(tmp)
        if db_path.exists():
            _checkpoint(db_path)
            os.replace(db_path, kept)
            if Path(f"{db_path}-wal").exists():  # the checkpoint failed: the WAL belongs to the kept file
                os.replace(f"{db_path}-wal", f"{kept}-wal")
        for stale in (Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), Path(f"{db_path}-journal")):
            stale.unlink(missing_ok=True)  # never let the old WAL be replayed onto the restored file
        os.replace(tmp, db_path)
        _fsync_dir(db_path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    result = {"restored": str(db_path), "from": str(backup_path),
              "before_restore": str(kept) if kept.exists() else None, **summary}
    log.info("restored %s from %s: %s", db_path, backup_path, result)
    return result


def _checkpoint(db_path: Path) -> None:
    """Fold the old database's WAL into its file, so the kept copy is one file."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, timeout=5)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            conn.execute("PRAGMA journal_mode = DELETE").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        log.warning("could not checkpoint the old database %s (%s); its -wal is kept beside it", db_path, exc)


def _copy(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
