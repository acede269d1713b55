"""`ceval device add|revoke|list` and `ceval broker account`: the registry and the broker's accounts, one way.

`device add` confirms the kiosk at its window in the database (as the registry page does: a kiosk moved to
another window leaves its history with the old one), gives it a broker account with a new password, and
writes the kiosk config to copy onto the Pi. The broker reads its accounts again on a reload.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ceval.args import add_db
from server.domain.zones import DEFAULT_ZONE
from server.ops.provision import (
    BROKER_DIR_ENV,
    DEFAULT_BROKER_DIR,
    KIOSK_DATA_DIR,
    KIOSK_TLS_DIR,
    SERVICES,
    BrokerAccounts,
    ProvisionError,
    broker_dir,
    check_device,
    kiosk_config_text,
    new_password,
    service_accounts,
    write_private,
)

KIOSK_BROKER_ENV = "CEVAL_KIOSK_BROKER"
RELOAD_HINT = "reload the broker so it takes effect: systemctl reload mosquitto"


def _fail(command: str, message: str) -> int:
    print(f"ceval {command}: {message}", file=sys.stderr)
    return 2


def _accounts(args, command: str) -> BrokerAccounts | None:
    """The broker directory to change; None (with a note) when the default one is not there and none was given:
    a broker without accounts, as in the demo or on a developer's machine."""
    explicit = args.broker_dir or os.environ.get(BROKER_DIR_ENV)
    accounts = BrokerAccounts(broker_dir(args.broker_dir))
    if accounts.exists():
        return accounts
    if explicit:
        raise ProvisionError(f"broker directory {accounts.dir} does not exist")
    print(f"ceval {command}: no broker directory {DEFAULT_BROKER_DIR}: the database only, no broker account "
          f"(give --broker-dir or {BROKER_DIR_ENV} where the broker keeps them)", file=sys.stderr)
    return None


def _now_ms() -> int:
    from shared.clock import SystemClock
    from shared.timefmt import to_ms

    return to_ms(SystemClock().now())


# ---------------------------------------------------------------- ceval device add
def cmd_device_add(args) -> int:
    """The kiosk config is written whenever a broker account is made or --out is given, and then the command
    fails (changing nothing) rather than end without it; without either and without a broker address it only
    registers, and says so."""
    from server.store import Store
    from server.store.db import open_db
    from shared.broker_url import parse_broker_url
    from shared.contract import WINDOW_PATTERN
    from shared.signing import read_fingerprint

    try:
        device = check_device(args.device)
        if args.window is not None and not WINDOW_PATTERN.match(args.window):
            raise ProvisionError(f"window {args.window!r} must match {WINDOW_PATTERN.pattern}")
        pin = read_fingerprint(args.key) if args.key is not None else None
        accounts = None if args.no_broker else _accounts(args, "device add")
    except (ProvisionError, ValueError) as exc:
        return _fail("device add", f"--key: {exc}" if isinstance(exc, ValueError) else str(exc))
    store = Store(open_db(args.db))
    known = store.registry.device(device)
    window = args.window or (known and known["window"])
    broker_url = args.broker or os.environ.get(KIOSK_BROKER_ENV)
    out = None
    if accounts is not None or args.out or broker_url:
        if not window:
            return _fail("device add", "give --window: the kiosk config names the window it serves")
        if not broker_url:
            return _fail("device add", f"give --broker mqtt://HOST:PORT (or {KIOSK_BROKER_ENV}): "
                                       "the broker's address as the kiosks reach it, for the kiosk config")
        try:
            parse_broker_url(broker_url)
        except ValueError as exc:
            return _fail("device add", str(exc))
        out = Path(args.out or f"{device}.toml")
        if out.is_dir():
            return _fail("device add", f"{out} is a folder: give --out FOLDER/{device}.toml")
        if not out.parent.is_dir():
            return _fail("device add", f"no folder {out.parent} for the kiosk config: create it first "
                                       f"(mkdir -p {out.parent})")
        password = new_password() if accounts is not None else None
        try:
            text = kiosk_config_text(device, window, broker_url, password, args.data_dir, args.tls_dir)
            write_private(out, text)
            if accounts is not None:
                accounts.set_password(device, password)
        except (OSError, ProvisionError) as exc:
            return _fail("device add", str(exc))
    now = _now_ms()
    with store.db.atomic():
        store.registry.assign_device(device, window, now)
        pinned = pin is not None and store.keys.pin(device, pin, "ceval device add", now)
    print(f"device {device} registered" + (f" at window {window}" if window else ""))
    if pinned:
        print(f"key {pin[:16]}… pinned: from now on only events signed with it count")
    if accounts is not None:
        print(f"broker account {device} in {accounts.passwd} (a new password; any old one ends at the reload)")
    if out is not None:
        print(f"kiosk config written to {out}: copy it to /etc/ceval/kiosk.toml on the Pi")
    else:
        print("ceval device add: no kiosk config written (give --broker URL, and --out FILE, to write one)",
              file=sys.stderr)
    if accounts is not None:
        print(RELOAD_HINT)
    return 0


# ---------------------------------------------------------------- ceval device revoke
def cmd_device_revoke(args) -> int:
    from server.store import Store
    from server.store.db import open_db

    try:
        accounts = _accounts(args, "device revoke")
    except ProvisionError as exc:
        return _fail("device revoke", str(exc))
    had_account = accounts.remove(args.device) if accounts is not None else False
    in_db = Store(open_db(args.db)).provisioning.revoke_device(args.device, _now_ms())
    if not had_account and not in_db:
        return _fail("device revoke", f"no device {args.device!r} in the database"
                     + (f" nor in {accounts.passwd}" if accounts is not None else ""))
    print(f"device {args.device} revoked: " + ", ".join(
        part for part, done in (("broker account removed", had_account), ("no longer confirmed", in_db)) if done))
    if had_account:
        print(RELOAD_HINT + "; the broker then disconnects the kiosk and refuses it")
    return 0


# ---------------------------------------------------------------- ceval device list
def cmd_device_list(args) -> int:
    from zoneinfo import ZoneInfo

    from server.store import Store
    from server.store.db import open_db
    from shared.timefmt import local_text

    try:
        accounts = _accounts(args, "device list")
    except ProvisionError as exc:
        return _fail("device list", str(exc))
    users = set(accounts.users()) if accounts is not None else set()
    zone = ZoneInfo(args.timezone)
    rows = []
    for row in Store(open_db(args.db)).registry.devices():
        seen = local_text(row["last_seen"], zone, "minute") if row["heard"] else "never"
        rows.append((row["device"], row["window"] or "-", "yes" if row["confirmed"] else "no",
                     ("yes" if row["device"] in users else "no") if accounts is not None else "?",
                     "yes" if row["online"] else "no", seen))
    known = {r[0] for r in rows}
    service_users = {user for service in SERVICES for user in service_accounts(service)}
    for user in sorted(users - known - service_users):
        rows.append((user, "-", "no", "yes", "-", "never"))
    header = ("DEVICE", "WINDOW", "CONFIRMED", "ACCOUNT", "ONLINE", "LAST SEEN")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
    if accounts is not None:
        print(f"server accounts: {', '.join(sorted(users & service_users)) or 'none'} (in {accounts.passwd})")
    return 0


# ---------------------------------------------------------------- ceval broker account
def cmd_broker_account(args) -> int:
    user, *members = service_accounts(args.service)
    try:
        accounts = BrokerAccounts(broker_dir(args.broker_dir))
        password = new_password()
        env = f"CEVAL_MQTT_USERNAME={user}\nCEVAL_MQTT_PASSWORD={password}\n"
        if args.out:
            write_private(Path(args.out), env)
        accounts.set_password(user, password, *members)  # a group's further members log in with the same password
    except (OSError, ProvisionError) as exc:
        return _fail("broker account", str(exc))
    if args.out:
        print(f"broker account {user} in {accounts.passwd}; its user name and password written to {args.out}")
    else:
        sys.stdout.write(env)
    print(RELOAD_HINT, file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Register `device` and `broker` on the `ceval` parser's subcommands."""
    dir_help = (f"the broker's folder of accounts (default: {BROKER_DIR_ENV}, else {DEFAULT_BROKER_DIR}); when the "
                "default is missing only the database changes")

    p = sub.add_parser("device", help="kiosks: register, revoke, list",
                       description="Manage kiosks: the registry in the database and their broker accounts.")
    dsub = p.add_subparsers(dest="device_command", required=True, metavar="ACTION")
    d = dsub.add_parser("add", help="register a kiosk, make its broker account and its config file",
                        description="Confirm a kiosk at its window (a kiosk moved to another window keeps its "
                        "history with the old one), give it a broker account with a new password (its user name "
                        "is the device id; the ACL pins it to ceval/v1/DEVICE/...), and write the kiosk config "
                        "to copy onto the Pi. Run it again to move a kiosk or to give it a new password. Then "
                        "reload the broker: systemctl reload mosquitto.")
    d.add_argument("device", help="the kiosk's device id (its MQTT client id and user name)")
    d.add_argument("--window", help="the window it serves (needed for a new kiosk's config)")
    d.add_argument("--key", metavar="FINGERPRINT", help="pin the kiosk's signing key (`ceval kiosk --key` prints "
                   "its fingerprint on the Pi; the Devices page shows what it reported): from then on only events "
                   "signed with it and chained count (docs/audit.md)")
    add_db(d)
    d.add_argument("--broker", help=f"the broker as the kiosks reach it, mqtt://HOST:PORT or mqtts://HOST:PORT "
                   f"(default: {KIOSK_BROKER_ENV})")
    d.add_argument("--out", help="where to write the kiosk config (default: DEVICE.toml here), always written "
                   "when given or when a broker account is made, else the command fails; it may hold the "
                   "password and is made readable by its owner only")
    d.add_argument("--data-dir", default=KIOSK_DATA_DIR, help=f"the kiosk's data folder on the Pi (default "
                   f"{KIOSK_DATA_DIR})")
    d.add_argument("--tls-dir", default=KIOSK_TLS_DIR, help=f"with an mqtts:// broker: the Pi's folder of ca.crt, "
                   f"DEVICE.crt and DEVICE.key from deploy/tls/make-certs.sh (default {KIOSK_TLS_DIR})")
    d.add_argument("--broker-dir", help=dir_help)
    d.add_argument("--no-broker", action="store_true",
                   help="no broker account (a broker without accounts, as in the demo): the kiosk config, "
                   "written with --broker, has no password")
    d.set_defaults(func=cmd_device_add)

    d = dsub.add_parser("revoke", help="take a kiosk's broker account away",
                        description="Delete the kiosk's broker account and unconfirm it (its window waits for "
                        "a new kiosk; its history stays). Then reload the broker: systemctl reload mosquitto; "
                        "the broker disconnects and refuses it from then on.")
    d.add_argument("device", help="the kiosk's device id")
    add_db(d)
    d.add_argument("--broker-dir", help=dir_help)
    d.set_defaults(func=cmd_device_revoke)

    d = dsub.add_parser("list", help="list kiosks", description="List the kiosks: window, confirmed, broker "
                        "account, online, last seen.")
    add_db(d)
    d.add_argument("--broker-dir", help=dir_help)
    d.add_argument("--timezone", default=DEFAULT_ZONE, help=f"time zone of LAST SEEN (default {DEFAULT_ZONE})")
    d.set_defaults(func=cmd_device_list)

    p = sub.add_parser("broker", help="the server's own broker accounts",
                       description="Manage the broker accounts of the server itself.")
    bsub = p.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    b = bsub.add_parser("account", help="make (or renew) the collector's broker account",
                        description=f"Make the broker account of the collector ({SERVICES['collector']}: reads "
                        "and writes ceval/#; the server's only MQTT client) with a new password, and print "
                        "CEVAL_MQTT_USERNAME= and CEVAL_MQTT_PASSWORD= lines for the service's environment file "
                        "(or write them to --out). Then reload the broker: systemctl reload mosquitto.")
    b.add_argument("service", choices=sorted(SERVICES), help="whose account")
    b.add_argument("--out", help="write the two lines to this file (readable by its owner only) instead")
    b.add_argument("--broker-dir", help=f"the broker's folder of accounts (default: {BROKER_DIR_ENV}, else "
                   f"{DEFAULT_BROKER_DIR})")
    b.set_defaults(func=cmd_broker_account)

