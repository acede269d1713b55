"""How every `ceval` command line is read: one-line errors, defaults in --help, and the argument types that
check a value before a command runs (so a typo never ends in a traceback)."""
from __future__ import annotations

import argparse
import os


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2) and every option's default in its help."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")

    def add_argument(self, *args, **kwargs):
        text, default = kwargs.get("help"), kwargs.get("default")
        if (text and args and args[0].startswith("-") and default not in (None, False, argparse.SUPPRESS)
                and "default" not in text):
            kwargs["help"] = f"{text} (default: %(default)s)"
        return super().add_argument(*args, **kwargs)


class CommandError(Exception):
    """A command's one-line error: main() prints it after the command's name and exits with status 2."""


def listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8080, or 0.0.0.0:8080 "
                                         "for every interface)")
    return host.strip("[]") or "127.0.0.1", int(port)


class DbPath(str):
    """The --db of a command that needs the database's folder to exist: `main` checks it with `check_db_path`
    before the command runs (not while parsing: parsing a unit's command line must not look at this machine)."""


def db_path(value: str) -> DbPath:
    if not value.strip():
        raise argparse.ArgumentTypeError("give the database file, e.g. /var/lib/ceval/ceval.sqlite3")
    return DbPath(value)


def check_db_path(value: str) -> None:
    """The database file lies in a folder that exists (a typo must not fail later with a traceback);
    argparse.ArgumentTypeError with the fix otherwise."""
    path = os.path.abspath(value)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{value} is a folder: give the database file, e.g. {value}/ceval.sqlite3")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"no folder {folder} for the database: create it first (mkdir -p {folder})")


def broker_url(value: str) -> str:
    """--broker: mqtt://HOST:PORT or mqtts://HOST:PORT."""
    from shared.broker_url import parse_broker_url

    try:
        parse_broker_url(value)
        return value
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None



def collectors(value: str) -> int:
    """--collectors: 1 to MAX_COLLECTORS (server/domain/collector_group.py)."""
    from server.domain.collector_group import MAX_COLLECTORS, check_size

    try:
        return check_size(int(value) if value.isascii() and value.isdigit() else 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of collectors from 1 to {MAX_COLLECTORS}") \
            from None


def public_url(value: str) -> str:
    """--public-url: an http:// or https:// address without ?query or #part, kept without its trailing /."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// address without ?query or #part")
    return value.rstrip("/")


def add_db(parser: argparse.ArgumentParser, text: str = "the server's SQLite database file") -> None:
    """The --db every command that reads or writes the server's database takes."""
    parser.add_argument("--db", required=True, type=db_path, help=text)
