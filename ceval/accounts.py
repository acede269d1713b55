"""`ceval token create|list|revoke` and `ceval user add|list|passwd|disable|enable`: the HTTP API's tokens and
the web app's accounts."""
from __future__ import annotations

import sys

from ceval.args import CommandError, add_db
from ceval.common import existing_store, fail, local_time, now_ms
from server.domain.zones import DEFAULT_ZONE


def cmd_token_create(args) -> int:
    from server.store import Store
    from server.store.db import open_db

    name = " ".join(args.name.split())
    if not 1 <= len(name) <= 64:
        return fail("ceval token create", "a token's name is 1 to 64 characters")
    print(Store(open_db(args.db)).accounts.create_token(name, now_ms()))
    return 0


def cmd_token_list(args) -> int:
    store = existing_store(args.db)
    if store is None:
        return fail("ceval token list", f"no database at {args.db}")
    print(f"{'id':>4}  {'created':16}  {'status':24}  name")
    for t in store.accounts.tokens():
        status = f"revoked {local_time(t['revoked_at'], args.timezone)}" if t["revoked_at"] else "active"
        print(f"{t['id']:>4}  {local_time(t['created_at'], args.timezone):16}  {status:24}  {t['name']}")
    return 0


def cmd_token_revoke(args) -> int:
    prog = "ceval token revoke"
    store = existing_store(args.db)
    if store is None:
        return fail(prog, f"no database at {args.db}")
    found = store.accounts.tokens_named(args.token)
    active = [t for t in found if not t["revoked_at"]]
    if not found:
        return fail(prog, f"no token with id or name {args.token!r} (see ceval token list)")
    if not active:
        return fail(prog, f"token {args.token!r} is revoked already")
    if len(active) > 1:
        ids = ", ".join(str(t["id"]) for t in active)
        return fail(prog, f"{len(active)} active tokens are named {args.token!r}: give one id ({ids})")
    [token] = active
    store.accounts.revoke_token(token["id"], now_ms())
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
            fail(prog, "the passwords differ")
            return None
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        return hash_password(password)
    except ValueError as exc:
        fail(prog, str(exc))
        return None


def cmd_user_add(args) -> int:
    from server.store import Store
    from server.store.db import open_db

    prog = "ceval user add"
    store = Store(open_db(args.db))
    if not args.username or len(args.username) > 64 or any(c.isspace() for c in args.username):
        return fail(prog, "a user name is 1 to 64 characters without spaces")
    if store.accounts.user_by_name(args.username):
        return fail(prog, f"user {args.username!r} exists already")
    hashed = _new_password_hash(prog, args.username)
    if hashed is None:
        return 2
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] if args.sites else None
    store.accounts.create_user(args.username, hashed, args.role, sites, now_ms())
    print(f"user {args.username} added as {args.role}")
    return 0


def _user(args):
    """(store, user row) of `args.username`; CommandError when there is no database or no such user."""
    store = existing_store(args.db)
    if store is None:
        raise CommandError(f"no database at {args.db}")
    user = store.accounts.user_by_name(args.username)
    if user is None:
        raise CommandError(f"no user {args.username!r} (see ceval user list)")
    return store, user


def cmd_user_list(args) -> int:
    import json

    store = existing_store(args.db)
    if store is None:
        raise CommandError(f"no database at {args.db}")
    print(f"{'user':24}  {'role':8}  {'status':8}  sites")
    for u in store.accounts.users():
        sites = ",".join(json.loads(u["sites"])) if u["sites"] else "all"
        print(f"{u['username']:24}  {u['role']:8}  {'disabled' if u['disabled'] else 'active':8}  {sites}")
    return 0


def cmd_user_passwd(args) -> int:
    store, user = _user(args)
    hashed = _new_password_hash("ceval user passwd", user["username"])
    if hashed is None:
        return 2
    store.accounts.set_password(user["id"], hashed)
    print(f"password of {user['username']} changed; their sessions have ended")
    return 0


def cmd_user_disable(args) -> int:
    store, user = _user(args)
    if not store.accounts.disable_user(user["id"]):
        raise CommandError(f"{user['username']} is the last active admin: add or enable another admin first")
    print(f"user {user['username']} disabled; their sessions have ended")
    return 0


def cmd_user_enable(args) -> int:
    store, user = _user(args)
    store.accounts.enable_user(user["id"])
    print(f"user {user['username']} enabled")
    return 0


def add_commands(sub) -> None:
    """Register `token` and `user` on the `ceval` parser's subcommands."""
    p = sub.add_parser("token", help="API tokens", description="Manage tokens of the HTTP API (read-only but for invites of a rating for a case number).")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = tsub.add_parser("create", help="print a new API token", description="Create an API token and print it. "
                        "Only its hash is stored: keep the printed token.")
    t.add_argument("name", help="who or what the token is for")
    add_db(t)
    t.set_defaults(func=cmd_token_create)
    t = tsub.add_parser("list", help="list the API tokens", description="List the API tokens: id, when made, "
                        "active or revoked, and name (the tokens themselves are not stored).")
    add_db(t)
    t.add_argument("--timezone", default=DEFAULT_ZONE, help="the time zone the times are shown in")
    t.set_defaults(func=cmd_token_list)
    t = tsub.add_parser("revoke", help="revoke an API token", description="Revoke an API token: from now on "
                        "the API answers it 401. It stays in the list, marked revoked.")
    t.add_argument("token", metavar="NAME_OR_ID", help="the token's id or name (as `ceval token list` shows)")
    add_db(t)
    t.set_defaults(func=cmd_token_revoke)

    p = sub.add_parser("user", help="web app accounts", description="Manage the web app's accounts.")
    usub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    u = usub.add_parser("add", help="add an account", description="Add an account; the password is asked for "
                        "(or read from standard input when it is not a terminal).")
    u.add_argument("username", help="the log-in name")
    u.add_argument("--role", required=True, choices=["admin", "manager", "viewer"],
                   help="admin: everything; manager: reports and follow-ups of their sites; viewer: read only")
    u.add_argument("--sites", help="comma-separated sites a manager or viewer sees (default: all)")
    add_db(u)
    u.set_defaults(func=cmd_user_add)
    u = usub.add_parser("list", help="list the accounts", description="List the accounts: name, role, active "
                        "or disabled, and the sites they see.")
    add_db(u)
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
        add_db(u)
        u.set_defaults(func=func)
