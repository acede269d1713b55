"""The collector's store side, in a process of its own: the Ingestor behind a pipe.

Checking a kiosk's message and writing it (the Ingestor) is most of a collector's work; reading the
messages and acknowledging them (the MQTT thread) is most of the rest. In one process they take turns
on one interpreter lock, so a collector used little more than one core while the kiosks waited for
their acks (bench/ingest.py); in two processes they run side by side. The collector's store thread
stays where it was (it takes batches from the inbox, retries one that failed, hands the acks back
to the MQTT thread) and hands each batch to this process to store; the pipe carries the messages'
topics and payloads there and the acks of the contract back.

A batch is stored in one transaction, as before: whatever happens to this process, nothing is
acknowledged that was not committed. If it dies (killed, out of memory), the store thread starts it
again and the batch goes again: what it committed before dying comes again as duplicates, which the
Ingestor knows by their ids. It ends when the pipe closes, so it never outlives its collector.
"""
from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from dataclasses import dataclass, field

from server.ingest.ingestor import Ingestor, Message
from server.store import Store
from server.store.db import open_db
from shared.clock import Clock
from shared.logs import LOG_FORMAT
from shared.topics import topic

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
START_SECONDS = 60.0  # how long opening (and migrating) the database may take before the start counts as failed


class StoreFailed(RuntimeError):
    """A batch was not stored: nothing of it may be acknowledged, and it goes again."""


@dataclass
class Stored:
    """What storing a batch gave: the acks of the contract to publish, as (topic, payload), and counts."""
    acks: list[tuple[str, bytes]] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class IngestOptions:
    """What the store process's Ingestor needs (see Ingestor). It is pickled to the process: a clock other than
    the system's goes as a copy, and does not follow the collector's."""
    db_path: str
    clock: Clock
    strict: bool
    gap_timeout: float
    zone: str
    members: int


class StoreProcess:
    """The store process, seen from the collector's store thread (the only thread that calls it)."""

    def __init__(self, options: IngestOptions):
        self.options = options
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the parent's threads
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None

    def start(self) -> None:
        """Start it and wait until its database is open and migrated; StoreFailed if it is not."""
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=serve, args=(theirs, self.options, logging.getLogger().level,
                                                            os.getpid()),
                                        name="collector-store", daemon=True)
        process.start()
        theirs.close()  # only the child holds its end: its death closes the pipe
        self._process, self._conn = process, ours
        if not ours.poll(START_SECONDS) or self._receive() != "ready":
            raise self._failed("could not open the database")

    def store(self, messages: list[tuple[str, bytes]]) -> Stored:
        """Store a batch of (topic, payload) in one transaction. StoreFailed if it was not (the process is
        started again if it died)."""
        if self._conn is None:
            self.start()
        try:
            self._conn.send(messages)
        except OSError:
            raise self._failed("ended") from None
        answer = self._receive()
        if isinstance(answer, Stored):
            return answer
        raise StoreFailed(answer)

    def stop(self, timeout: float = 10.0) -> None:
        """Let it finish the batch it stores, then end it."""
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            conn.close()  # it ends when its pipe closes
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                log.warning("the store process did not end within %.0f s; killing it", timeout)
                process.kill()
                process.join()

    def _receive(self):
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            raise self._failed("ended") from None

    def _failed(self, what: str) -> StoreFailed:
        """The process is gone or useless: it is ended here and started again for the next batch."""
        exitcode = self._process.exitcode if self._process is not None else None
        self.stop(timeout=5.0)
        return StoreFailed(f"the store process {what} (exit code {exitcode})")


def serve(conn: multiprocessing.connection.Connection, options: IngestOptions, log_level: int, parent: int) -> None:
    """The store process: opens the database (migrating it), says "ready", then stores each batch it is sent
    until its pipe closes."""
    _die_with(parent)
    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    store = Store(open_db(options.db_path))
    try:
        ingestor = Ingestor(store, options.clock, options.strict, options.gap_timeout, options.zone, options.members)
        gc.freeze()  # what start-up made lives as long as the process: keep it out of every collection
        conn.send("ready")
        while True:
            try:
                batch = conn.recv()
            except (EOFError, OSError):
                return  # the collector stopped (or died)
            conn.send(_store(ingestor, batch))
    finally:
        store.db.close()


def _die_with(parent: int) -> None:
    """End this process the moment its collector's process dies, even while a batch waits for the database's
    write lock: a batch committed after its collector died would be stored, but never acknowledged by the
    collector that received it (it comes again to the next one, as a duplicate). Linux's
    PR_SET_PDEATHSIG; elsewhere the closed pipe ends it after its batch."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before this process could ask
        os._exit(1)


def _store(ingestor: Ingestor, batch: list[tuple[str, bytes]]) -> Stored | str:
    """A batch stored and its acks, or why it was not (nothing of it was committed)."""
    messages = [Message(name, payload) for name, payload in batch]
    try:
        result = ingestor.handle(messages)
    except Exception as exc:
        log.exception("could not store a batch of %d messages", len(messages))
        return f"could not store a batch of {len(messages)} messages: {exc!r}"
    return Stored([(topic(device, "ack"), ack.to_json()) for device, ack in result.acks],
                  result.stored, result.duplicates, result.rejected)

