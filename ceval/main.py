"""`ceval`: the one command line for the server, the kiosk and the demo.

Each subcommand imports what it needs only when it runs, so a kiosk without
the server's libraries (and a server without Kivy) can use the same command.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from ceval.args import CommandError, DbPath, Parser, broker_url, check_db_path, db_path, stop_on_signals
from ceval.args import listen_address as _listen
from ceval.devices import add_commands as add_device_commands
from shared.version import PRODUCT_VERSION

log = logging.getLogger(__name__)


def _public_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// address without ?query or #part")
    return value.rstrip("/")


# ---------------------------------------------------------------- ceval server
def cmd_server(args) -> int:
    from server.service import Options, Service, ServiceError

    options = Options(db=args.db, broker=args.broker, listen=args.listen, strict=args.strict,
                      timezone=args.timezone, client_id=args.client_id, take_over=args.take_over,
                      gap_timeout=args.gap_timeout, public_url=args.public_url)
    try:
        service = Service(options).open()
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    try:
        _first_admin_hint(args.db, args.db)
        stop = threading.Event()
        stop_on_signals(stop)
        service.run(stop, started=lambda url: print(f"counter-eval server: web on {url}, broker {args.broker}, "
                                                    f"db {args.db}", flush=True))
    finally:
        service.close()
    return 0


FIRST_ADMIN_HINT = "no account yet: add the first admin with  ceval user add NAME --role admin --db {db}"


def _first_admin_hint(database: str, shown: str) -> None:
    """On a database without accounts, say how to make the first one (the log-in page says it too)."""
    from server.store import Store
    from server.store.db import open_db

    store = Store(open_db(database))
    try:
        if not store.users():
            print(FIRST_ADMIN_HINT.format(db=shown), flush=True)
    finally:
        store.db.close()


# ---------------------------------------------------------------- ceval token ... and ceval user ...
def _fail(prog: str, message: str) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return 2


def _existing_store(path: str):
    """The store of an existing database (None when there is no file: a typo must not create one)."""
    from server.store import Store
    from server.store.db import open_db

    return Store(open_db(path)) if os.path.isfile(path) else None


def _now_ms() -> int:
    from shared.clock import SystemClock
    from shared.timefmt import to_ms

    return to_ms(SystemClock().now())


def _local(ms: int | None, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    from shared.timefmt import local_text

    return local_text(ms or None, ZoneInfo(timezone), "minute")


def cmd_token_create(args) -> int:
    from server.store import Store
    from server.store.db import open_db

    name = " ".join(args.name.split())
    if not 1 <= len(name) <= 64:
        return _fail("ceval token create", "a token's name is 1 to 64 characters")
    print(Store(open_db(args.db)).create_token(name, _now_ms()))
    return 0


def cmd_token_list(args) -> int:
    store = _existing_store(args.db)
    if store is None:
        return _fail("ceval token list", f"no database at {args.db}")
    print(f"{'id':>4}  {'created':16}  {'status':24}  name")
    for t in store.tokens():
        status = f"revoked {_local(t['revoked_at'], args.timezone)}" if t["revoked_at"] else "active"
        print(f"{t['id']:>4}  {_local(t['created_at'], args.timezone):16}  {status:24}  {t['name']}")
    return 0


def cmd_token_revoke(args) -> int:
    prog = "ceval token revoke"
    store = _existing_store(args.db)
    if store is None:
        return _fail(prog, f"no database at {args.db}")
    found = store.tokens_named(args.token)
    active = [t for t in found if not t["revoked_at"]]
    if not found:
        return _fail(prog, f"no token with id or name {args.token!r} (see ceval token list)")
    if not active:
        return _fail(prog, f"token {args.token!r} is revoked already")
    if len(active) > 1:
        ids = ", ".join(str(t["id"]) for t in active)
        return _fail(prog, f"{len(active)} active tokens are named {args.token!r}: give one id ({ids})")
    [token] = active
    store.revoke_token(token["id"], _now_ms())
    print(f"token {token['id']} ({token['name']}) revoked")
    return 0


def _new_password_hash(prog: str, username: str) -> str | None:
    """The hash of a new password from the terminal (asked twice) or the first line of standard input; None
    (and the reason on stderr) when the two differ or it is no password. Never from the command line, where
    `ps` shows it."""
    import getpass

    from server.domain.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {username}: ")
        if getpass.getpass("again: ") != password:
            _fail(prog, "the passwords differ")
            return None
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        return hash_password(password)
    except ValueError as exc:
        _fail(prog, str(exc))
        return None


def cmd_user_add(args) -> int:
    from server.store import Store
    from server.store.db import open_db

    prog = "ceval user add"
    store = Store(open_db(args.db))
    if not args.username or len(args.username) > 64 or any(c.isspace() for c in args.username):
        return _fail(prog, "a user name is 1 to 64 characters without spaces")
    if store.user_by_name(args.username):
        return _fail(prog, f"user {args.username!r} exists already")
    hashed = _new_password_hash(prog, args.username)
    if hashed is None:
        return 2
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] if args.sites else None
    store.create_user(args.username, hashed, args.role, sites, _now_ms())
    print(f"user {args.username} added as {args.role}")
    return 0


def _user(args):
    """(store, user row) of `args.username`; CommandError when there is no database or no such user."""
    store = _existing_store(args.db)
    if store is None:
        raise CommandError(f"no database at {args.db}")
    user = store.user_by_name(args.username)
    if user is None:
        raise CommandError(f"no user {args.username!r} (see ceval user list)")
    return store, user


def cmd_user_list(args) -> int:
    import json

    store = _existing_store(args.db)
    if store is None:
        raise CommandError(f"no database at {args.db}")
    print(f"{'user':24}  {'role':8}  {'status':8}  sites")
    for u in store.users():
        sites = ",".join(json.loads(u["sites"])) if u["sites"] else "all"
        print(f"{u['username']:24}  {u['role']:8}  {'disabled' if u['disabled'] else 'active':8}  {sites}")
    return 0


def cmd_user_passwd(args) -> int:
    store, user = _user(args)
    hashed = _new_password_hash("ceval user passwd", user["username"])
    if hashed is None:
        return 2
    store.set_password(user["id"], hashed)
    print(f"password of {user['username']} changed; their sessions have ended")
    return 0


def cmd_user_disable(args) -> int:
    store, user = _user(args)
    if not store.disable_user(user["id"]):
        raise CommandError(f"{user['username']} is the last active admin: add or enable another admin first")
    print(f"user {user['username']} disabled; their sessions have ended")
    return 0


def cmd_user_enable(args) -> int:
    store, user = _user(args)
    store.enable_user(user["id"])
    print(f"user {user['username']} enabled")
    return 0


# ---------------------------------------------------------------- ceval site add
def _week_arg(values: list[str]):
    """`--hours 1-5=09:00-12:00,13:30-17:00 --hours 6=09:00-12:00` -> server.domain.hours week (ValueError if bad)."""
    from server.domain.hours import HoursError, parse_day

    week: dict[int, list[tuple[int, int]]] = {}
    for value in values:
        days, sep, spans = value.partition("=")
        if not sep:
            raise ValueError(f"--hours {value!r} is not DAYS=HH:MM-HH:MM[,HH:MM-HH:MM] (DAYS like 1-5 or 6,7)")
        chosen: set[int] = set()
        for part in days.split(","):
            first, _, last = part.strip().partition("-")
            if not (first.isdigit() and (not last or last.isdigit())):
                raise ValueError(f"--hours {value!r}: days are ISO weekdays 1 (Monday) to 7, like 1-5 or 6,7")
            lo, hi = int(first), int(last or first)
            if not 1 <= lo <= hi <= 7:
                raise ValueError(f"--hours {value!r}: days are ISO weekdays 1 (Monday) to 7, like 1-5 or 6,7")
            chosen.update(range(lo, hi + 1))
        try:
            day_spans = parse_day(spans)
        except HoursError as exc:
            raise ValueError(f"--hours {value!r}: {exc.translated(_english)}") from None
        for day in chosen:
            if day in week:
                raise ValueError(f"--hours gives weekday {day} twice")
            week[day] = day_spans
    return {day: spans for day, spans in week.items() if spans}


def _english(template: str, **params) -> str:
    """A web text in English, from the app's catalog (server/catalogs.py): one wording for both."""
    from server.catalogs import translation

    return translation("en").gettext(template) % params


def cmd_site_add(args) -> int:
    from zoneinfo import available_timezones

    from server.domain import hours
    from server.store import Store
    from server.store.db import open_db
    from server.web.views.registry import SITE_PATTERN

    if not SITE_PATTERN.match(args.site):
        print(f"ceval site add: site {args.site!r} is not 1 to 32 of a-z, 0-9 and -", file=sys.stderr)
        return 2
    name = " ".join(args.name.split())
    if not 1 <= len(name) <= 64:
        print("ceval site add: --name must be 1 to 64 characters", file=sys.stderr)
        return 2
    if args.timezone not in available_timezones():
        print(f"ceval site add: unknown time zone {args.timezone!r}", file=sys.stderr)
        return 2
    try:
        week = _week_arg(args.hours or [])
    except ValueError as exc:
        print(f"ceval site add: {exc}", file=sys.stderr)
        return 2
    store = Store(open_db(args.db))
    if store.site(args.site):
        print(f"ceval site add: site {args.site!r} exists already", file=sys.stderr)
        return 2
    store.create_site(args.site, name, args.timezone, hours.dumps(week), args.public)
    print(f"site {args.site} added ({name}, {args.timezone})")
    return 0


def _table(header: tuple[str, ...], rows: list[tuple]) -> None:
    """Columns padded to their widest value (Chinese counts as two columns, as a terminal shows it)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    cells = [[str(v) for v in row] for row in [header, *rows]]
    widths = [max(width(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        print("  ".join(v + " " * (w - width(v)) for v, w in zip(r, widths)).rstrip())


def _store_of(args):
    store = _existing_store(args.db)
    if store is None:
        raise CommandError(f"no database at {args.db} (ceval server makes it; check --db)")
    return store


def cmd_site_list(args) -> int:
    from server.domain import hours

    store = _store_of(args)
    rows = []
    for site in store.sites():
        week = hours.loads(site["hours"])
        opening = "; ".join(f"{day}={hours.format_day(week[day])}" for day in sorted(week)) or "closed"
        rows.append((site["site"], site["name"], site["timezone"], "yes" if site["public"] else "no",
                     site["windows"], site["clerks"], opening))
    _table(("SITE", "NAME", "TIMEZONE", "PUBLIC", "WINDOWS", "CLERKS", "HOURS (ISO weekday=spans)"), rows)
    return 0


def cmd_window_add(args) -> int:
    from server.web.views.registry import MAX_TITLE
    from shared.contract import WINDOW_PATTERN

    if not WINDOW_PATTERN.match(args.window):
        raise CommandError(f"window {args.window!r} is not a-z or 0-9 then up to 31 of a-z, 0-9 and -, e.g. w03")
    title = " ".join((args.title or "").split()) or None
    if title and len(title) > MAX_TITLE:
        raise CommandError(f"--title is at most {MAX_TITLE} characters ({len(title)} given)")
    store = _store_of(args)
    if store.window(args.window):
        raise CommandError(f"window {args.window} exists already (see ceval window list)")
    if args.site and store.site(args.site) is None:
        raise CommandError(f"no site {args.site!r} (see ceval site list; ceval site add makes one)")
    if args.clerk:
        clerk = store.clerk(args.clerk)
        if clerk is None or not clerk["active"] or (args.site and clerk["site"] not in (None, args.site)):
            raise CommandError(f"{args.clerk!r} is no active clerk" + (f" of site {args.site}" if args.site else "")
                               + ": add the clerk on the web page /admin/staff first")
    with store.db.atomic():
        store.create_window(args.window, title, args.site)
        if args.clerk:
            saved = store.window(args.window)
            store.update_window(args.window, saved["title"], args.site, args.clerk)
    saved = store.window(args.window)
    print(f"window {args.window} added ({saved['title']}" + (f", site {args.site}" if args.site else "")
          + (f", clerk {args.clerk}" if args.clerk else "") + ")")
    return 0


def cmd_window_list(args) -> int:
    store = _store_of(args)
    rows = [(w["window"], w["title"], w["site"] or "-", w["clerk"] or "-", w["device"] or "-")
            for w in store.windows()]
    _table(("WINDOW", "TITLE", "SITE", "CLERK", "KIOSK"), rows)
    return 0


# ---------------------------------------------------------------- ceval kiosk
def cmd_kiosk(args) -> int:
    if args.screenshot:
        from device.main import run_screenshots

        return run_screenshots(args)
    if not args.config:
        print("ceval kiosk: --config is required (the kiosk's TOML config file), except with --screenshot",
              file=sys.stderr)
        return 2
    from device.main import run_kiosk

    stop = threading.Event()
    stop_on_signals(stop)
    return run_kiosk(args, stop)


# ---------------------------------------------------------------- ceval demo
def cmd_demo(args) -> int:
    from ceval.demo.hall import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ceval", description="counter-eval: service window satisfaction kiosks "
                                     "and the server that collects and reports them.")
    parser.add_argument("--version", action="version", version=f"counter-eval {PRODUCT_VERSION}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("server", help="run the collector and the web app together",
                       description="Run the collector (exactly one) and the web app in one process.")
    p.add_argument("--db", required=True, type=db_path, help="SQLite database file (created when missing)")
    p.add_argument("--broker", required=True, type=broker_url, help="mqtt://HOST:PORT or "
                   "mqtts://HOST:PORT; user and password "
                   "from CEVAL_MQTT_USERNAME / CEVAL_MQTT_PASSWORD; for mqtts:// the broker's CA and a client "
                   "certificate from CEVAL_MQTT_CA_FILE / CEVAL_MQTT_CERT_FILE / CEVAL_MQTT_KEY_FILE")
    p.add_argument("--listen", type=_listen, default="127.0.0.1:8080",
                   help="HOST:PORT of the web app (0.0.0.0:8080: reachable from other machines)")
    p.add_argument("--strict", action="store_true", help="reject events from devices that are not registered")
    p.add_argument("--timezone", default="Asia/Shanghai", help="time zone that reports count days in")
    p.add_argument("--client-id", default="ceval-collector", help="the collector's MQTT client id")
    p.add_argument("--take-over", action="store_true",
                   help="connect even when the broker says a collector with this client id is live (it is then "
                   "knocked off): for a server that moved to another machine")
    p.add_argument("--gap-timeout", type=float, default=600.0,
                   help="seconds a missing seq may stay missing before it is declared lost")
    p.add_argument("--public-url", type=_public_url, default=os.environ.get("CEVAL_PUBLIC_URL") or None,
                   help="the address customers' phones reach the web app at (https://HOST[/PATH]); kiosks then "
                   "show a QR code of the window's comment form (default: CEVAL_PUBLIC_URL, else no QR code)")
    p.set_defaults(func=cmd_server)

    p = sub.add_parser("token", help="API tokens", description="Manage tokens of the HTTP API (read-only but for invites of a rating for a case number).")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = tsub.add_parser("create", help="print a new API token", description="Create an API token and print it. "
                        "Only its hash is stored: keep the printed token.")
    t.add_argument("name", help="who or what the token is for")
    t.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    t.set_defaults(func=cmd_token_create)
    t = tsub.add_parser("list", help="list the API tokens", description="List the API tokens: id, when made, "
                        "active or revoked, and name (the tokens themselves are not stored).")
    t.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    t.add_argument("--timezone", default="Asia/Shanghai", help="the time zone the times are shown in")
    t.set_defaults(func=cmd_token_list)
    t = tsub.add_parser("revoke", help="revoke an API token", description="Revoke an API token: from now on "
                        "the API answers it 401. It stays in the list, marked revoked.")
    t.add_argument("token", metavar="NAME_OR_ID", help="the token's id or name (as `ceval token list` shows)")
    t.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    t.set_defaults(func=cmd_token_revoke)

    add_device_commands(sub)  # device add|revoke|list, broker account: ceval/devices.py

    p = sub.add_parser("user", help="web app accounts", description="Manage the web app's accounts.")
    usub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    u = usub.add_parser("add", help="add an account", description="Add an account; the password is asked for "
                        "(or read from standard input when it is not a terminal).")
    u.add_argument("username", help="the log-in name")
    u.add_argument("--role", required=True, choices=["admin", "manager", "viewer"],
                   help="admin: everything; manager: reports and follow-ups of their sites; viewer: read only")
    u.add_argument("--sites", help="comma-separated sites a manager or viewer sees (default: all)")
    u.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    u.set_defaults(func=cmd_user_add)
    u = usub.add_parser("list", help="list the accounts", description="List the accounts: name, role, active "
                        "or disabled, and the sites they see.")
    u.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    u.set_defaults(func=cmd_user_list)
    for action, func, summary, text in (
            ("passwd", cmd_user_passwd, "set a user's password", "Set a user's password; it is asked for (or "
             "read from standard input when it is not a terminal). Every session of the user ends."),
            ("disable", cmd_user_disable, "disable an account", "Disable an account: it cannot log in and its "
             "sessions end at once. The last active admin cannot be disabled."),
            ("enable", cmd_user_enable, "enable an account again", "Enable a disabled account again, with its "
             "password as it was.")):
        u = usub.add_parser(action, help=summary, description=text)
        u.add_argument("username", help="the log-in name")
        u.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
        u.set_defaults(func=func)

    p = sub.add_parser("site", help="sites (halls)", description="Manage the sites (halls) windows belong to.")
    ssub = p.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    s = ssub.add_parser("add", help="add a site", description="Add a site (hall) with its time zone and opening "
                        "hours; an admin edits it later on the web page /admin/sites.")
    s.add_argument("site", help="the site's id: 1 to 32 of a-z, 0-9 and -, e.g. hq")
    s.add_argument("--name", required=True, help="the site's name as people know it")
    s.add_argument("--timezone", default="Asia/Shanghai", help="the site's time zone")
    s.add_argument("--hours", action="append", metavar="DAYS=SPANS",
                   help="opening hours by ISO weekday (1 = Monday), e.g. 1-5=09:00-12:00,13:30-17:00; "
                   "repeat for other days; days not given are closed")
    s.add_argument("--public", action="store_true", help="show the site on the public board")
    s.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    s.set_defaults(func=cmd_site_add)
    s = ssub.add_parser("list", help="list the sites", description="List the sites: id, name, time zone, "
                        "opening hours, public board, windows and active clerks.")
    s.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    s.set_defaults(func=cmd_site_list)

    p = sub.add_parser("window", help="service windows", description="Manage the service windows; an admin "
                       "edits them later on the web page /admin/windows.")
    wsub = p.add_subparsers(dest="window_command", required=True, metavar="ACTION")
    w = wsub.add_parser("add", help="add a window", description="Add a window before its kiosk reports, with "
                        "its title, its site and the clerk assigned to it.")
    w.add_argument("window", help="the window's id: a-z or 0-9 first, then up to 31 of a-z, 0-9 and -, e.g. w03")
    w.add_argument("--title", help="its title on the kiosk and the pages, at most 32 characters "
                   "(default: 3号窗口 for w03)")
    w.add_argument("--site", help="the site (hall) it belongs to (see ceval site list)")
    w.add_argument("--clerk", metavar="STAFF", help="the staff number of the clerk assigned to it, on the "
                   "site's roster")
    w.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    w.set_defaults(func=cmd_window_add)
    w = wsub.add_parser("list", help="list the windows", description="List the windows: id, title, site, "
                        "assigned clerk, kiosk.")
    w.add_argument("--db", required=True, type=db_path, help="the server's SQLite database file")
    w.set_defaults(func=cmd_window_list)

    p = sub.add_parser("kiosk", help="run a kiosk", description="Run a kiosk from its TOML config: the "
                       "touchscreen, or with --headless only the GPIO inputs (or the simulator).")
    p.add_argument("--config", help="the kiosk's TOML config file (required, except with --screenshot); with "
                   "--screenshot also a config message (.json); default there: a demonstration config")
    p.add_argument("--screenshot", metavar="DIR", help="do not run: render every screen at 800x480, 1024x600 and "
                   "1280x800 in Chinese and English into DIR as SCREEN-WxH-LANG.png, offscreen")
    p.add_argument("--headless", action="store_true", help="no screen: GPIO buttons and the away sign only")
    p.add_argument("--simulate", action="store_true", help="simulated customers press the buttons")
    p.add_argument("--count", type=int, help="with --simulate: stop after this many ratings")
    p.add_argument("--linger", action="store_true", help="with --count: keep running after the last rating")
    p.add_argument("--seed", type=int, help="with --simulate: random seed")
    p.add_argument("--pace", type=float, default=1.0,
                   help="with --simulate: how busy the window is (1: a customer every 4-15 s; 2: twice as busy)")
    p.set_defaults(func=cmd_kiosk)

    p = sub.add_parser("demo", help="run broker, server and simulated kiosks on this machine",
                       description="Start a broker, the server and simulated kiosks, and print the dashboard URL.")
    p.add_argument("--dir", default="demo-data", help="folder for the demo's database, broker, kiosks and logs; "
                   "kept between runs (delete it to start afresh)")
    p.add_argument("--listen", type=_listen, default="127.0.0.1:8080",
                   help="HOST:PORT of the web app; 0.0.0.0:8080 lets phones and other machines reach it")
    p.add_argument("--public-url", type=_public_url, help="the address phones reach the demo at, for the QR "
                   "codes (default: from --listen, with this machine's network address for 0.0.0.0)")
    p.add_argument("--kiosks", type=int, default=6, help="how many simulated kiosks")
    p.add_argument("--pace", type=float, default=1.0, help="speed of the simulated hall (2 = twice as busy)")
    p.add_argument("--embedded-broker", action="store_true",
                   help="use the embedded amqtt broker even where Mosquitto is installed")
    p.set_defaults(func=cmd_demo)

    from server.ops.backup import register as add_maintenance_commands
    add_maintenance_commands(sub)  # backup, restore, retention: server/ops/backup.py
    return parser


def main(argv: list[str] | None = None) -> int:
    import sqlite3

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    prog = " ".join(["ceval", args.command, *(str(v) for k, v in vars(args).items()
                                              if k.endswith("_command") and v)])
    try:
        if isinstance(getattr(args, "db", None), DbPath):
            check_db_path(args.db)
        return args.func(args)
    except argparse.ArgumentTypeError as exc:
        return _fail(prog, str(exc))
    except CommandError as exc:
        return _fail(prog, str(exc))
    except sqlite3.DatabaseError as exc:  # not a database, locked for too long, a disk that failed
        log.debug("database error", exc_info=True)
        return _fail(prog, f"cannot use the database {getattr(args, 'db', '')}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
