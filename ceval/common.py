"""What the `ceval` commands share beyond parsing: one-line failures, the store of an existing database, the time
now and as the hall reads it, tables for a terminal, and stopping on SIGTERM or Ctrl-C. The server's modules
are imported inside the functions, so a kiosk that never runs a server command never loads them."""
from __future__ import annotations

import os
import signal
import sys
import threading

from ceval.args import CommandError


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (systemd) and SIGINT (Ctrl-C) set `stop`, so the command ends its work and exits cleanly."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


def fail(prog: str, message: str) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return 2


def existing_store(path: str):
    """The store of an existing database (None when there is no file: a typo must not create one)."""
    from server.store import Store
    from server.store.db import open_db

    return Store(open_db(path)) if os.path.isfile(path) else None


def now_ms() -> int:
    from shared.clock import SystemClock
    from shared.timefmt import to_ms

    return to_ms(SystemClock().now())


def local_time(ms: int | None, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    from shared.timefmt import local_text

    return local_text(ms or None, ZoneInfo(timezone), "minute")


def store_of(args):
    store = existing_store(args.db)
    if store is None:
        raise CommandError(f"no database at {args.db} (ceval server makes it; check --db)")
    return store


def table(header: tuple[str, ...], rows: list[tuple]) -> None:
    """Columns padded to their widest value (Chinese counts as two columns, as a terminal shows it)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    cells = [[str(v) for v in row] for row in [header, *rows]]
    widths = [max(width(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        print("  ".join(v + " " * (w - width(v)) for v, w in zip(r, widths)).rstrip())


def english(template: str, **params) -> str:
    """A web text in English, from the app's catalog (server/catalogs.py): one wording for both."""
    from server.catalogs import texts

    return texts("en")(template, **params)
