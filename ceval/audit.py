"""`ceval audit verify`: re-check stored events against their kiosks' pinned keys and chains (docs/audit.md)."""
from __future__ import annotations

import argparse
from datetime import date

from ceval.args import add_db
from ceval.common import store_of


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def cmd_audit_verify(args) -> int:
    from zoneinfo import ZoneInfo

    from server.domain.figures import DayRange
    from server.reporting.audit import verify

    start = end = None
    if args.from_ or args.to:
        tz = ZoneInfo(args.timezone)
        first, last = args.from_ or date(2000, 1, 1), args.to or date(9998, 12, 31)
        if last < first:
            raise argparse.ArgumentTypeError("--to is before --from")
        days = DayRange(first, last, tz)
        start, end = (days.start if args.from_ else None), (days.end if args.to else None)
    store = store_of(args)
    try:
        audit = verify(store, args.window, start, end)
    finally:
        store.db.close()
    for finding in audit.notes:
        print(finding.line())
    for finding in audit.breaks:
        print(finding.line())
    summary = (f"{audit.events} events checked: {audit.signed} signatures verified with pinned keys, "
               f"{audit.unpinned} of devices without a pinned key (chain and rows only), {audit.pruned} past "
               f"retention (chain only)")
    if audit.ok:
        print(f"OK {summary}")
        return 0
    print(f"FAILED {len(audit.breaks)} breaks; {summary}")
    return 1


def add_commands(sub) -> None:
    """Register `audit` on the `ceval` parser's subcommands."""
    from server.domain.zones import DEFAULT_ZONE

    p = sub.add_parser("audit", help="verify the stored ratings against the kiosks' signatures",
                       description="Audit the database: prove that no rating was deleted, changed or re-ordered.")
    asub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = asub.add_parser("verify", help="re-check every stored event of a range",
                        description="Re-check every stored event of the range against its kiosk's pinned key and "
                        "chain, and the rows the figures count against what the kiosk signed. Prints OK and "
                        "exits 0, or prints each break (device, stream, seq, what) and exits 1.")
    add_db(v)
    v.add_argument("--window", help="only this window's events (default: every window)")
    v.add_argument("--from", dest="from_", type=_day, metavar="DATE", help="first local day, YYYY-MM-DD")
    v.add_argument("--to", type=_day, metavar="DATE", help="last local day, YYYY-MM-DD (inclusive)")
    v.add_argument("--timezone", default=DEFAULT_ZONE, help=f"the zone of the days (default {DEFAULT_ZONE})")
    v.set_defaults(func=cmd_audit_verify)
