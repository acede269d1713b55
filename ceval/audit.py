"""`ceval audit verify`: re-check stored events against their kiosks' pinned keys and chains (docs/audit.md)."""
from __future__ import annotations

import argparse
from datetime import date

from ceval.args import CommandError, add_db
from ceval.common import store_of


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def _range(args) -> tuple[int | None, int | None]:
    """--from and --to as epoch ms [start, end) of those local days; None where not given."""
    from zoneinfo import ZoneInfo

    from server.domain.figures import DayRange

    if not (args.from_ or args.to):
        return None, None
    first, last = args.from_ or date(2000, 1, 1), args.to or date(9998, 12, 31)
    if last < first:
        raise argparse.ArgumentTypeError("--to is before --from")
    days = DayRange(first, last, ZoneInfo(args.timezone))
    return (days.start if args.from_ else None), (days.end if args.to else None)


def cmd_audit_bundle(args) -> int:
    import json

    from ceval.common import now_ms
    from server.reporting.audit import bundle

    start, end = _range(args)
    store = store_of(args)
    try:
        made = bundle(store, args.window, start, end, now_ms(),
                      (args.from_ and args.from_.isoformat(), args.to and args.to.isoformat()))
    finally:
        store.db.close()
    text = json.dumps(made, ensure_ascii=False, indent=1)
    try:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    events = sum(len(s["events"]) for s in made["streams"])
    print(f"audit bundle of {events} events in {len(made['streams'])} streams written to {args.out}; check it "
          "with: python3 signing.py " + args.out + " (shared/signing.py, docs/audit.md)")
    return 0


def cmd_audit_verify(args) -> int:
    from server.reporting.audit import verify
    from shared.signing import report

    start, end = _range(args)
    store = store_of(args)
    try:
        audit = verify(store, args.window, start, end)
    finally:
        store.db.close()
    lines, status = report(audit)
    print("\n".join(lines))
    return status


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
    _range_arguments(v, DEFAULT_ZONE)
    v.set_defaults(func=cmd_audit_verify)
    b = asub.add_parser("bundle", help="export the signed records of a window and range for a third party",
                        description="Write an audit bundle (JSON): the stored signed events of the range with their "
                        "chain, the rows the figures count, exclusions and the kiosks' pinned keys. Anyone can "
                        "check it with shared/signing.py alone (docs/audit.md).")
    _range_arguments(b, DEFAULT_ZONE)
    b.add_argument("--out", required=True, metavar="FILE", help="the bundle file to write")
    b.set_defaults(func=cmd_audit_bundle)


def _range_arguments(p, default_zone: str) -> None:
    add_db(p)
    p.add_argument("--window", help="only this window's events (default: every window)")
    p.add_argument("--from", dest="from_", type=_day, metavar="DATE", help="first local day, YYYY-MM-DD")
    p.add_argument("--to", type=_day, metavar="DATE", help="last local day, YYYY-MM-DD (inclusive)")
    p.add_argument("--timezone", default=default_zone, help=f"the zone of the days (default {default_zone})")
