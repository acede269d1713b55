"""Every manager page that lists windows, kiosks, clerks or sites, timed at city size.

The city is bench/city.py's (default 50 sites of 100 windows: 5,000 windows, clerks and confirmed kiosks),
with a few events per window through the collector's ingestor (ratings over the month so far, a bad rating
with reasons and a comment at some windows, an absence, the kiosks' statuses: online, most of them), so every
page has rows. The app is the real one over that database, through Flask's test client, logged in as an admin
(who sees the whole city) and as a manager of one site.

Per page: the median of --rounds requests in ms, the size of the page and how many SQL statements one request
ran (a page that runs a query per window shows it here). Human-readable lines first; the last line is one
JSON object.

    python -m bench.pages [--sites 50] [--windows-per-site 100] [--rounds 3] [--keep]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.city import register_city
from bench.reports import traced_connections
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor, Message
from server.store import Store
from server.store.db import open_db
from shared.clock import FakeClock
from shared.timefmt import format_ts, to_ms

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # a Monday, 14:00 in Shanghai
ADMIN = ("city-admin", "bench-admin-password")
MANAGER = ("site-manager", "bench-manager-password")
CACHE = Path(tempfile.gettempdir()) / "ceval-bench-pages"

# What a manager opens, with the listing it shows; {window}, {staff}, {site} are the city's first.
PAGES = [
    ("board", "/"),
    ("board.json", "/board.json"),
    ("fleet", "/fleet"),
    ("comments", "/comments"),
    ("compare", "/compare"),
    ("compare clerks", "/compare?by=staff"),
    ("compare city", "/compare?site=_all"),
    ("monthly", "/reports/monthly"),
    ("cases", "/cases"),
    ("appeals", "/appeals"),
    ("appeal new", "/appeals/new"),
    ("alerts", "/alerts"),
    ("report runs", "/reports/runs"),
    ("gbt39046", "/exports/gbt39046"),
    ("window report", "/windows/{window}"),
    ("clerk report", "/staff/{staff}"),
    ("registry sites", "/admin/sites"),
    ("registry site", "/admin/sites/{site}"),
    ("registry windows", "/admin/windows"),
    ("registry devices", "/admin/devices"),
    ("registry staff", "/admin/staff"),
    ("admin", "/admin"),
    ("admin alerts", "/admin/alerts"),
    ("admin cases", "/admin/cases"),
    ("admin misuse", "/admin/misuse"),
    ("admin reports", "/admin/reports"),
    ("admin export", "/admin/export"),
    ("admin users", "/admin/users"),
    ("window kiosk", "/admin/windows/{window}/kiosk"),
    ("api windows", "/api/v1/windows"),
]


def _msg(device: str, kind: str, body: dict) -> Message:
    return Message(f"ceval/v1/{device}/{kind}", json.dumps(body, ensure_ascii=False).encode())


def _events(window: str, device: str, staff: str, n: int, bad: bool) -> list[Message]:
    """`n` ratings of one kiosk over the month so far (the last one today), a bad one with reasons and a
    comment when `bad`, an absence of 20 minutes today, and its online status."""
    stream = f"{device}-s1"
    out, seq = [], 0

    def event(at: datetime, kind: str, **fields) -> None:
        nonlocal seq
        seq += 1
        out.append(_msg(device, "event", {"v": 1, "id": f"{stream}-{seq:06d}", "stream": stream, "seq": seq,
                                           "ts": format_ts(at), "window": window, "type": kind, "staff": staff,
                                           **fields}))

    start = NOW - timedelta(days=21)
    for i in range(n):
        event(start + (NOW - timedelta(hours=1) - start) * i / max(1, n - 1), "rating",
              score=5 if i % 4 else 4, scale=5)
    if bad:
        event(NOW - timedelta(minutes=50), "rating", score=1, scale=5, reasons=["slow", "attitude"])
        event(NOW - timedelta(minutes=49), "feedback", text="等候时间长，希望多开窗口", rating=f"{stream}-{seq:06d}")
    event(NOW - timedelta(minutes=40), "presence", state="away")
    event(NOW - timedelta(minutes=20), "presence", state="present")
    out.append(_msg(device, "status", {"v": 1, "online": True, "ts": format_ts(NOW), "window": window,
                                       "outbox": 0, "version": "1.0.0"}))
    return out


def build(path: Path, sites: int, per_site: int, ratings: int = 6) -> dict:
    """The city with its events; every 7th window has a bad rating and a comment, every 10th kiosk is offline."""
    started = time.monotonic()
    city = register_city(path, sites, per_site, since=NOW - timedelta(days=40))
    store = Store(open_db(path))
    try:
        ingest = Ingestor(store, FakeClock(NOW))
        batch: list[Message] = []
        for i, (_site, window, device) in enumerate(city):
            staff = store.reports.window(window)["clerk"]
            batch += _events(window, device, staff, ratings, bad=i % 7 == 0)
            if i % 10 == 9:
                batch.append(_msg(device, "status", {"v": 1, "online": False}))
            if len(batch) >= 2000:
                ingest.handle(batch)
                batch = []
        if batch:
            ingest.handle(batch)
        now = to_ms(NOW)
        store.accounts.create_user(ADMIN[0], hash_password(ADMIN[1]), "admin", None, now)
        store.accounts.create_user(MANAGER[0], hash_password(MANAGER[1]), "manager", [city[0][0]], now)
        stored = store.db.execute("SELECT count(*) FROM ratings").fetchone()[0]
    finally:
        store.db.close()
    return {"windows": len(city), "ratings": stored, "build_s": round(time.monotonic() - started, 1)}


class Statements:
    """Counts the SQL statements the app's connections run (server.web.context.open_db, traced)."""

    def __init__(self):
        self.count = 0
        self._tracing = traced_connections(self._statement)

    def __enter__(self) -> Statements:
        self._tracing.__enter__()
        return self

    def _statement(self, sql: str) -> None:
        self.count += 1

    def __exit__(self, *exc) -> None:
        self._tracing.__exit__(*exc)


def client_of(app, user: tuple[str, str]):
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post("/login", data={"username": user[0], "password": user[1], "csrf_token": csrf})
    if answer.status_code != 302:
        raise SystemExit(f"bench.pages: could not log in as {user[0]}: {answer.status_code}")
    return client


def time_pages(path: Path, user: tuple[str, str], rounds: int, pages=PAGES) -> dict[str, dict]:
    from server.web.app import create_app

    app = create_app({"DATABASE": str(path), "CLOCK": FakeClock(NOW), "TESTING": True, "SECRET_KEY": "bench-pages"})
    client = client_of(app, user)
    headers = {}
    if any(url.startswith("/api/") for _, url in pages):
        store = Store(open_db(path, migrate=False))
        headers = {"Authorization": "Bearer " + store.accounts.create_token(f"pages-{time.time_ns()}", to_ms(NOW))}
        store.db.close()
    store = Store(open_db(path, migrate=False))
    first = store.db.execute("SELECT window, site, clerk FROM windows ORDER BY window LIMIT 1").fetchone()
    store.db.close()
    sample = {"window": first[0], "site": first[1], "staff": first[2]}
    out = {}
    for name, url in pages:
        url = url.format(**sample)
        times = []
        with Statements() as statements:
            for _ in range(rounds):
                start = time.perf_counter()
                answer = client.get(url, headers=headers if url.startswith("/api/") else None)
                body = answer.get_data()
                times.append((time.perf_counter() - start) * 1000)
        out[name] = {"url": url, "status": answer.status_code, "ms": round(statistics.median(times), 1),
                     "kb": round(len(body) / 1024, 1), "sql": round(statements.count / rounds)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--windows-per-site", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help=f"keep the city's database in {CACHE} for the next run")
    parser.add_argument("--only", help="time only the pages whose name contains this")
    args = parser.parse_args(argv)
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"city-{args.sites}x{args.windows_per_site}.sqlite3"
    built = None
    if not (args.keep and path.exists()):
        for stale in CACHE.glob(path.name + "*"):
            stale.unlink()
        built = build(path, args.sites, args.windows_per_site)
        print(f"city: {built['windows']} windows, {built['ratings']} ratings in {built['build_s']} s", file=sys.stderr)
    pages = [(n, u) for n, u in PAGES if not args.only or args.only in n]
    result = {"sites": args.sites, "windows_per_site": args.windows_per_site, "built": built, "pages": {}}
    for role, user in (("admin", ADMIN), ("manager", MANAGER)):
        timed = time_pages(path, user, args.rounds, pages)
        result["pages"][role] = timed
        for name, t in timed.items():
            print(f"{role:8} {name:18} {t['status']} {t['ms']:9.1f} ms {t['kb']:8.1f} KiB {t['sql']:6} SQL  {t['url']}",
                  file=sys.stderr)
    if not args.keep:
        for stale in CACHE.glob(path.name + "*"):
            stale.unlink()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
