"""`ceval backup`, `ceval restore` and `ceval retention`: the database's safety copies (server/ops/backup.py) and
how long raw payloads are kept (server/ops/retention.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def cmd_backup(args) -> int:
    from server.ops.backup import BackupError, backup

    try:
        print(json.dumps(backup(args.db, args.out), ensure_ascii=False))
    except BackupError as exc:
        print(f"ceval backup: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_restore(args) -> int:
    from server.ops.backup import BackupError, restore

    try:
        print(json.dumps(restore(getattr(args, "from"), args.db), ensure_ascii=False))
    except BackupError as exc:
        print(f"ceval restore: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_retention(args) -> int:
    from server.ops.retention import parse_days
    from server.store import Store
    from server.store.db import open_db

    if args.days is not None:
        try:
            days = parse_days(args.days)
        except ValueError as exc:
            print(f"ceval retention: {exc}", file=sys.stderr)
            return 2
    if not Path(args.db).is_file():
        print(f"ceval retention: {args.db} does not exist", file=sys.stderr)
        return 2
    store = Store(open_db(args.db))
    try:
        if args.off:
            store.maintenance.set_retention_days(None)
        elif args.days is not None:
            store.maintenance.set_retention_days(days)
        current = store.maintenance.retention_days()
        print(json.dumps({"retention_days": current, "pruned_payloads": store.maintenance.pruned_payloads()}))
    finally:
        store.db.close()
    return 0


def add_commands(sub) -> None:
    """Register `backup`, `restore` and `retention` on the `ceval` parser's subcommands."""
    p = sub.add_parser("backup", help="back up the database while the server runs",
                       description="Copy the server's database to FILE as one consistent snapshot, while the "
                       "collector goes on writing; the copy is checked, then renamed into place. Prints a JSON "
                       "summary (events, ratings, schema).")
    p.add_argument("--db", required=True, help="the server's SQLite database file")
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write (replaced when it exists)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore the database from a backup (server stopped)",
                       description="Check the backup, keep the current database as DB.before-restore and put "
                       "a copy of the backup in its place. Refuses while a server has the database open.")
    p.add_argument("--db", required=True, help="the server's SQLite database file to replace")
    p.add_argument("--from", required=True, metavar="FILE", help="the backup file (left as it is)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("retention", help="how long raw event payloads are kept",
                       description="Show or set how many days the raw message of each event and rejected "
                       "messages are kept (figures are kept forever). Default: off, keep everything. A running "
                       "server applies a change within its next run (every 10 minutes).")
    p.add_argument("--db", required=True, help="the server's SQLite database file")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--days", help="keep raw payloads this many days (1 to 36500; disputes: 150 or more)")
    group.add_argument("--off", action="store_true", help="keep every raw payload")
    p.set_defaults(func=cmd_retention)
