"""A city on one server, registered: S sites (halls) of W windows each, a clerk per window on the site's
roster and assigned to it, and a confirmed kiosk assigned to every window.

Everything goes through the store's repositories the way the commands do: `ceval site add`
(registry.create_site), `ceval window add --site --clerk` (registry.create_window, update_window),
the roster page (registry.create_clerk) and `ceval device add --window` (registry.assign_device).
No broker accounts and no kiosk config files: a benchmark that runs kiosks makes those itself.

    from bench.city import register_city
    city = register_city("city.sqlite3", sites=50, windows_per_site=100)   # [(site, window, device), ...]

Names: sites s01.., windows s01-w001.., kiosks k-01-001.., clerks 01001.. (staff number: site and window).

    python -m bench.city DB [--sites 50] [--windows-per-site 100]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from server.domain import hours
from server.store import Store
from server.store.db import open_db
from shared.timefmt import to_ms

DEFAULT_SITES = 50
DEFAULT_WINDOWS_PER_SITE = 100
TIMEZONE = "Asia/Shanghai"
WEEKDAYS = {day: [(9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30)] for day in range(1, 6)}


def site_id(s: int) -> str:
    return f"s{s:02d}"


def window_id(s: int, w: int) -> str:
    return f"{site_id(s)}-w{w:03d}"


def device_id(s: int, w: int) -> str:
    return f"k-{s:02d}-{w:03d}"


def staff_id(s: int, w: int) -> str:
    return f"{s:02d}{w:03d}"


def register_city(db: str | Path | Store, sites: int = DEFAULT_SITES,
                  windows_per_site: int = DEFAULT_WINDOWS_PER_SITE,
                  since: datetime | None = None) -> list[tuple[str, str, str]]:
    """Register `sites` sites of `windows_per_site` windows each in the database at `db` (a path, opened and
    migrated, then closed; or an open Store), in one transaction. Every window gets a clerk of its site,
    assigned to it, and a confirmed kiosk assigned to it from `since` (default now: a kiosk's events timed
    before its assignment are rejected, so a benchmark that sends yesterday's events passes yesterday).
    Returns (site, window, device) of every window, in order. Sites or windows already there raise
    sqlite3.IntegrityError and register nothing."""
    store = db if isinstance(db, Store) else Store(open_db(db))
    try:
        now = to_ms(since or datetime.now().astimezone())
        week = hours.dumps(WEEKDAYS)
        city: list[tuple[str, str, str]] = []
        with store.db.atomic():
            for s in range(1, sites + 1):
                site = site_id(s)
                store.registry.create_site(site, f"政务服务中心 {s:02d}", TIMEZONE, week, False)
                for w in range(1, windows_per_site + 1):
                    window, device, staff = window_id(s, w), device_id(s, w), staff_id(s, w)
                    store.registry.create_clerk(staff, f"办事员{staff}", site, None)
                    store.registry.create_window(window, f"{s:02d}厅{w}号窗口", site)
                    store.registry.update_window(window, f"{s:02d}厅{w}号窗口", site, staff)
                    store.registry.assign_device(device, window, now)
                    city.append((site, window, device))
        return city
    finally:
        if not isinstance(db, Store):
            store.db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path, help="the database to register the city in (created if missing)")
    parser.add_argument("--sites", type=int, default=DEFAULT_SITES)
    parser.add_argument("--windows-per-site", type=int, default=DEFAULT_WINDOWS_PER_SITE)
    args = parser.parse_args(argv)
    started = time.monotonic()
    city = register_city(args.db, args.sites, args.windows_per_site)
    print(f"{args.sites} sites, {len(city)} windows, clerks and kiosks registered in {args.db} "
          f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
