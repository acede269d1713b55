"""`ceval server`: the collector and the web app in one process (server/service.py), with the first-admin hint
on a database without accounts; `ceval collector`: one more member of its collectors' group, which `ceval
server --collectors N` runs itself (server/ingest/members.py)."""
from __future__ import annotations

import os
import sys
import threading

from ceval.args import CommandError, add_db, broker_url, collectors, listen_address, public_url
from ceval.common import stop_on_signals
from server.domain.collector_group import MAX_COLLECTORS
from server.domain.zones import DEFAULT_ZONE


def cmd_server(args) -> int:
    from server.service import Options, Service, ServiceError

    options = Options(db=args.db, broker=args.broker, listen=args.listen, strict=args.strict,
                      timezone=args.timezone, client_id=args.client_id, take_over=args.take_over,
                      gap_timeout=args.gap_timeout, public_url=args.public_url, collectors=args.collectors)
    try:
        service = Service(options, lambda k: _member_argv(args, k)).open()
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


def _member_argv(args, member: int) -> list[str]:
    """`ceval collector` for member `member` of this server's group, with the server's own settings."""
    argv = [sys.executable, "-m", "ceval.main", "collector", "--db", args.db, "--broker", args.broker,
            "--client-id", args.client_id, "--member", str(member), "--collectors", str(args.collectors),
            "--timezone", args.timezone, "--gap-timeout", str(args.gap_timeout)]
    if args.public_url:
        argv += ["--public-url", args.public_url]
    return argv + (["--strict"] if args.strict else [])


def cmd_collector(args) -> int:
    """Member `--member` of a group of collectors: receive, store and acknowledge its share until SIGTERM, or
    until its standard input closes (the server that started it has ended). Member 1 also keeps the kiosks'
    configs and sends the invites, with the web app's secret and token lifetime from its environment."""
    from server.domain.collector_group import member_name
    from server.domain.comment_token import token_lifetime
    from server.ingest.collector import Collector
    from server.ingest.members import SECRET_ENV, TOKEN_SECONDS_ENV
    from shared.broker_url import tls_from_env

    username = os.environ.get("CEVAL_MQTT_USERNAME")
    if not 1 <= args.member <= args.collectors:
        raise CommandError(f"--member {args.member} is not 1 to the group's size {args.collectors}")
    try:
        name = member_name(args.client_id, args.member)
        tls = tls_from_env(os.environ)
        seconds = os.environ.get(TOKEN_SECONDS_ENV)
        lifetime = token_lifetime({"COMMENT_TOKEN_SECONDS": seconds} if seconds else {})
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    collector = Collector(args.db, args.broker, strict=args.strict, tls=tls, client_id=name,
                          username=member_name(username, args.member) if username else None,
                          password=os.environ.get("CEVAL_MQTT_PASSWORD"), gap_timeout=args.gap_timeout,
                          timezone=args.timezone, members=args.collectors, pushes=args.member == 1,
                          public_url=args.public_url, secret_key=os.environ.get(SECRET_ENV) or None,
                          token_lifetime=lifetime)
    stop = threading.Event()
    stop_on_signals(stop)
    threading.Thread(target=_until_closed, args=(sys.stdin.fileno(), stop), daemon=True).start()
    collector.start()
    try:
        stop.wait()
    finally:
        collector.stop()
    return 0


def _until_closed(fd: int, stop: threading.Event) -> None:
    """Set `stop` once `fd` (the pipe from the server that started this member) is closed. Read unbuffered:
    a buffered reader's lock, held by this daemon thread, would stop the interpreter's shutdown."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    stop.set()


FIRST_ADMIN_HINT = "no account yet: add the first admin with  ceval user add NAME --role admin --db {db}"


def _first_admin_hint(database: str, shown: str) -> None:
    """On a database without accounts, say how to make the first one (the log-in page says it too)."""
    from server.store import Store
    from server.store.db import open_db

    store = Store(open_db(database))
    try:
        if not store.accounts.users():
            print(FIRST_ADMIN_HINT.format(db=shown), flush=True)
    finally:
        store.db.close()


def add_commands(sub) -> None:
    """Register `server` on the `ceval` parser's subcommands."""
    p = sub.add_parser("server", help="run the collector and the web app together",
                       description="Run the collector (exactly one) and the web app in one process.")
    add_db(p, "SQLite database file (created when missing)")
    p.add_argument("--broker", required=True, type=broker_url, help="mqtt://HOST:PORT or "
                   "mqtts://HOST:PORT; user and password "
                   "from CEVAL_MQTT_USERNAME / CEVAL_MQTT_PASSWORD; for mqtts:// the broker's CA and a client "
                   "certificate from CEVAL_MQTT_CA_FILE / CEVAL_MQTT_CERT_FILE / CEVAL_MQTT_KEY_FILE")
    p.add_argument("--listen", type=listen_address, default="127.0.0.1:8080",
                   help="HOST:PORT of the web app (0.0.0.0:8080: reachable from other machines)")
    p.add_argument("--strict", action="store_true", help="reject events from devices that are not registered")
    p.add_argument("--timezone", default=DEFAULT_ZONE, help="time zone that reports count days in")
    p.add_argument("--client-id", default="ceval-collector", help="the collector's MQTT client id")
    p.add_argument("--take-over", action="store_true",
                   help="connect even when the broker says a collector with this client id is live (it is then "
                   "knocked off): for a server that moved to another machine")
    p.add_argument("--gap-timeout", type=float, default=600.0,
                   help="seconds a missing seq may stay missing before it is declared lost")
    p.add_argument("--public-url", type=public_url, default=os.environ.get("CEVAL_PUBLIC_URL") or None,
                   help="the address customers' phones reach the web app at (https://HOST[/PATH]); kiosks then "
                   "show a QR code of the window's comment form (default: CEVAL_PUBLIC_URL, else no QR code)")
    p.add_argument("--collectors", type=collectors, default=1,
                   help=f"collectors sharing the kiosks' messages (1 to {MAX_COLLECTORS}; MQTT 5 shared "
                   "subscriptions): above 1 each runs as a process of its own, member 1 with the server's broker "
                   "account, member k with that user name followed by -k (`ceval broker account collector` "
                   "makes them)")
    p.set_defaults(func=cmd_server)

    c = sub.add_parser("collector", help="one more member of a group of collectors (ceval server --collectors "
                       "starts them)", description="Run member --member of the group of collectors of `ceval "
                       "server --collectors N`, which starts and stops its members itself; it ends on SIGTERM "
                       "or when its standard input closes.")
    add_db(c, "SQLite database file of the server")
    c.add_argument("--broker", required=True, type=broker_url, help="mqtt://HOST:PORT or mqtts://HOST:PORT")
    c.add_argument("--client-id", default="ceval-collector", help="the server's collector client id")
    c.add_argument("--member", type=int, required=True, help="this member's number, 1 to the group's size "
                   "(member 1 also keeps the kiosks' configs and sends the invites)")
    c.add_argument("--collectors", type=collectors, required=True, help="the group's size")
    c.add_argument("--strict", action="store_true", help="as the server's --strict")
    c.add_argument("--timezone", default=DEFAULT_ZONE, help="as the server's --timezone")
    c.add_argument("--gap-timeout", type=float, default=600.0, help="as the server's --gap-timeout")
    c.add_argument("--public-url", type=public_url, help="as the server's --public-url (member 1)")
    c.set_defaults(func=cmd_collector)

