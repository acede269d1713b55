"""`ceval`: the one command line for the server, the kiosk and the demo.

Each subcommand imports what it needs only when it runs, so a kiosk without
the server's libraries (and a server without Kivy) can use the same command.
"""
from __future__ import annotations

import argparse
import logging
import sys

from ceval import accounts, audit, devices, kiosk, maintenance, serve, sites
from ceval.args import CommandError, DbPath, Parser, check_db_path
from ceval.common import fail
from ceval.demo import command
from shared.logs import LOG_FORMAT
from shared.version import PRODUCT_VERSION

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ceval", description="counter-eval: service window satisfaction kiosks "
                                     "and the server that collects and reports them.")
    parser.add_argument("--version", action="version", version=f"counter-eval {PRODUCT_VERSION}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for commands in (serve, accounts, devices, sites, kiosk, command, maintenance, audit):
        commands.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import sqlite3

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    prog = " ".join(["ceval", args.command, *(str(v) for k, v in vars(args).items()
                                              if k.endswith("_command") and v)])
    try:
        if isinstance(getattr(args, "db", None), DbPath):
            check_db_path(args.db)
        return args.func(args)
    except argparse.ArgumentTypeError as exc:
        return fail(prog, str(exc))
    except CommandError as exc:
        return fail(prog, str(exc))
    except sqlite3.DatabaseError as exc:  # not a database, locked for too long, a disk that failed
        log.debug("database error", exc_info=True)
        return fail(prog, f"cannot use the database {getattr(args, 'db', '')}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
