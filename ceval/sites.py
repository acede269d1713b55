"""`ceval site add|list` and `ceval window add|list`: the halls and their service windows, before or beside the
registry pages of the web app."""
from __future__ import annotations

import sys

from ceval.args import CommandError, add_db
from ceval.common import english, store_of, table
from server.domain.registry import MAX_NAME, MAX_TITLE, SITE_PATTERN
from server.domain.zones import DEFAULT_ZONE


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
            raise ValueError(f"--hours {value!r}: {exc.translated(english)}") from None
        for day in chosen:
            if day in week:
                raise ValueError(f"--hours gives weekday {day} twice")
            week[day] = day_spans
    return {day: spans for day, spans in week.items() if spans}


def cmd_site_add(args) -> int:
    from zoneinfo import available_timezones

    from server.domain import hours
    from server.store import Store
    from server.store.db import open_db

    if not SITE_PATTERN.match(args.site):
        print(f"ceval site add: site {args.site!r} is not 1 to 32 of a-z, 0-9 and -", file=sys.stderr)
        return 2
    name = " ".join(args.name.split())
    if not 1 <= len(name) <= MAX_NAME:
        print(f"ceval site add: --name must be 1 to {MAX_NAME} characters", file=sys.stderr)
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
    if store.registry.site(args.site):
        print(f"ceval site add: site {args.site!r} exists already", file=sys.stderr)
        return 2
    store.registry.create_site(args.site, name, args.timezone, hours.dumps(week), args.public)
    print(f"site {args.site} added ({name}, {args.timezone})")
    return 0


def cmd_site_list(args) -> int:
    from server.domain import hours

    store = store_of(args)
    rows = []
    for site in store.registry.sites():
        week = hours.loads(site["hours"])
        opening = "; ".join(f"{day}={hours.format_day(week[day])}" for day in sorted(week)) or "closed"
        rows.append((site["site"], site["name"], site["timezone"], "yes" if site["public"] else "no",
                     site["windows"], site["clerks"], opening))
    table(("SITE", "NAME", "TIMEZONE", "PUBLIC", "WINDOWS", "CLERKS", "HOURS (ISO weekday=spans)"), rows)
    return 0


def cmd_window_add(args) -> int:
    from shared.contract import WINDOW_PATTERN

    if not WINDOW_PATTERN.match(args.window):
        raise CommandError(f"window {args.window!r} is not a-z or 0-9 then up to 31 of a-z, 0-9 and -, e.g. w03")
    title = " ".join((args.title or "").split()) or None
    if title and len(title) > MAX_TITLE:
        raise CommandError(f"--title is at most {MAX_TITLE} characters ({len(title)} given)")
    store = store_of(args)
    if store.reports.window(args.window):
        raise CommandError(f"window {args.window} exists already (see ceval window list)")
    if args.site and store.registry.site(args.site) is None:
        raise CommandError(f"no site {args.site!r} (see ceval site list; ceval site add makes one)")
    if args.clerk:
        clerk = store.registry.clerk(args.clerk)
        if clerk is None or not clerk["active"] or (args.site and clerk["site"] not in (None, args.site)):
            raise CommandError(f"{args.clerk!r} is no active clerk" + (f" of site {args.site}" if args.site else "")
                               + ": add the clerk on the web page /admin/staff first")
    with store.db.atomic():
        store.registry.create_window(args.window, title, args.site)
        if args.clerk:
            saved = store.reports.window(args.window)
            store.registry.update_window(args.window, saved["title"], args.site, args.clerk)
    saved = store.reports.window(args.window)
    print(f"window {args.window} added ({saved['title']}" + (f", site {args.site}" if args.site else "")
          + (f", clerk {args.clerk}" if args.clerk else "") + ")")
    return 0


def cmd_window_list(args) -> int:
    store = store_of(args)
    rows = [(w["window"], w["title"], w["site"] or "-", w["clerk"] or "-", w["device"] or "-")
            for w in store.reports.windows()]
    table(("WINDOW", "TITLE", "SITE", "CLERK", "KIOSK"), rows)
    return 0


def add_commands(sub) -> None:
    """Register `site` and `window` on the `ceval` parser's subcommands."""
    p = sub.add_parser("site", help="sites (halls)", description="Manage the sites (halls) windows belong to.")
    ssub = p.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    s = ssub.add_parser("add", help="add a site", description="Add a site (hall) with its time zone and opening "
                        "hours; an admin edits it later on the web page /admin/sites.")
    s.add_argument("site", help="the site's id: 1 to 32 of a-z, 0-9 and -, e.g. hq")
    s.add_argument("--name", required=True, help="the site's name as people know it")
    s.add_argument("--timezone", default=DEFAULT_ZONE, help="the site's time zone")
    s.add_argument("--hours", action="append", metavar="DAYS=SPANS",
                   help="opening hours by ISO weekday (1 = Monday), e.g. 1-5=09:00-12:00,13:30-17:00; "
                   "repeat for other days; days not given are closed")
    s.add_argument("--public", action="store_true", help="show the site on the public board")
    add_db(s)
    s.set_defaults(func=cmd_site_add)
    s = ssub.add_parser("list", help="list the sites", description="List the sites: id, name, time zone, "
                        "opening hours, public board, windows and active clerks.")
    add_db(s)
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
    add_db(w)
    w.set_defaults(func=cmd_window_add)
    w = wsub.add_parser("list", help="list the windows", description="List the windows: id, title, site, "
                        "assigned clerk, kiosk.")
    add_db(w)
    w.set_defaults(func=cmd_window_list)
