"""Report latency on a big database: a window's month report and the hall board, against a full scan.

The data: N ratings (default 10 million) across W windows (default 200) spread
evenly over S halls (default 4; a city: 5,000 windows in 50 halls) over D days (default 730) ending on a fixed Monday, written straight
into a database migrated by `server.store.db.open_db` (the real schema and indexes;
`events` rows are not needed by any report and are not written). Ratings fall
in the halls' opening hours (weekdays 09:00-12:00 and 13:30-17:00, Saturday
mornings), more at busy windows; scores differ by window; about half of the
bad reviews give reasons; about 2 % of ratings carry a comment; windows have
0-4 absences a day, and a few are away at the moment the clock stands. The
indexes are dropped during the load and made again with the migrations' own
statements. The database is cached at a path keyed by the parameters
(`--keep`), so a re-run skips generation.

Measured through the real Flask app (`create_app` with that DATABASE and a
FakeClock at 16:00 on the data's last day, a manager logged in with the test
client), each request opening its own connection as in production:

- month report: GET /windows/<w>?from=&to= for a random window and a random
  whole month, the whole page; p50 and p99 over R requests (default 200);
- one hall's board: GET /board.json?site=<the middle hall> (what a city's board
  shows), p50 and p99 over B requests (default 100);
- every hall's board: GET /board.json, every window, over B requests (or
  --all-board-requests): a city's 5,000 windows in one list is not what a hall
  manager opens, so it has no target, but is measured;
- baseline in the same run: the month's rating figures (distribution and daily
  trend) computed by a full scan (`FROM ratings NOT INDEXED`), median of 3,
  and checked equal to the indexed figures;
- growth: the report for 12 months instead of 1 on the same database, and
  the month report and board on a control database with a tenth of the ratings
  over a tenth of the days (same windows, same ratings per window and day):
  cost should follow the range asked, not the size of the table;
- the printable monthly report (/reports/monthly as it opens: every window, or
  the first hall's when they fill more than a page; and ?site=<the hall>),
  median of 3 each;
- where the time goes: the app's Store methods timed per request (month report
  and both boards), with the query plan of the slowest ones' SQL;
- growth (`growth` in the JSON): generation time and database size of every
  database generated in the same directory with the same windows, halls and
  days but another number of ratings (run 10 M, then 100 M, with --keep).

    python -m bench.reports [--ratings 10000000] [--windows 200] [--sites 4] [--days 730] [--db PATH] [--keep]
    python -m bench.reports --ratings 100000000 --windows 5000 --sites 50 --keep   # a city (hours)

Targets: month report p99 < 150 ms, one hall's board p99 < 100 ms (`targets_met`;
`targets` says which held, with the board of every hall against the same 100 ms).
Human-readable lines first; the last line is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from server.domain.periods import add_months, month_end
from server.domain.zones import DEFAULT_ZONE
from server.store.db import open_db
from shared.clock import FakeClock
from shared.timefmt import to_ms

log = logging.getLogger(__name__)

GENERATOR = 2  # bump when the generated data changes: cached databases are then made again
TZ = ZoneInfo(DEFAULT_ZONE)
LAST_DAY = date(2026, 11, 23)  # a Monday; the clock stands at 16:00 that day
NOW = datetime.combine(LAST_DAY, dtime(16, 0), TZ)
SITES = [("hall-a", "市民服务中心"), ("hall-b", "东区政务服务分中心"), ("hall-c", "西区政务服务分中心"),
         ("hall-d", "供电营业厅")]
WEEKDAY_SPANS = [((9, 0), (12, 0)), ((13, 30), (17, 0))]
SATURDAY_SPANS = [((9, 0), (12, 0))]
HOURS_JSON = json.dumps({**{str(d): [["09:00", "12:00"], ["13:30", "17:00"]] for d in range(1, 6)},
                         "6": [["09:00", "12:00"]], "7": []})
REASONS = ["slow", "attitude", "skill", "unclear", "wait"]
REASON_SETS = [json.dumps([a]) for a in REASONS] + [json.dumps([a, b]) for a in REASONS for b in REASONS if a < b]
COMMENTS = ["办事效率高", "服务态度好", "讲解很清楚", "等候时间长", "希望简化材料", "材料一次性告知，很方便",
            "排队太久了", "工作人员很耐心"]
MANAGER = ("bench-manager", "bench manager password")
TARGET_MONTH_P99_MS = 150.0
TARGET_BOARD_P99_MS = 100.0
BATCH = 200_000  # rows per transaction while loading


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------- the data
def site_list(n: int) -> list[tuple[str, str]]:
    """The halls of the data: the first four as always, then hall-05, hall-06, ... (a city's district halls)."""
    return SITES[:n] + [(f"hall-{k:02d}", f"第{k}政务服务分中心") for k in range(len(SITES) + 1, n + 1)]


def sites_of(windows: int, sites: int) -> dict[str, str]:
    """window -> site: the windows in order, spread evenly over the halls."""
    halls = site_list(sites)
    return {window_id(i + 1): halls[i * len(halls) // windows][0] for i in range(windows)}


def window_id(n: int) -> str:
    return f"w{n:03d}"


def cache_path(ratings: int, windows: int, days: int, sites: int = len(SITES)) -> Path:
    return (Path(tempfile.gettempdir()) / "ceval-bench"
            / f"reports-g{GENERATOR}-{ratings}r-{windows}w-{sites}s-{days}d.sqlite3")


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".done.json")


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), _marker(path)):
        p.unlink(missing_ok=True)


def cached(path: Path, params: dict) -> dict | None:
    """The generation record of a complete database made with these parameters, if there is one."""
    try:
        record = json.loads(_marker(path).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return record if record.get("params") == params and path.exists() else None


def spans_of(day: date, until_ms: int) -> list[tuple[int, int]]:
    """The opening spans of a local day in epoch ms, cut at `until_ms`."""
    wd = day.isoweekday()
    spans = WEEKDAY_SPANS if wd <= 5 else SATURDAY_SPANS if wd == 6 else []
    out = []
    for (h1, m1), (h2, m2) in spans:
        a = to_ms(datetime.combine(day, dtime(h1, m1), TZ))
        b = min(to_ms(datetime.combine(day, dtime(h2, m2), TZ)), until_ms)
        if b > a:
            out.append((a, b))
    return out


def _moment(rng: random.Random, spans: list[tuple[int, int]], total: int) -> int:
    u = int(rng.random() * total)
    for a, b in spans:
        if u < b - a:
            return a + u
        u -= b - a
    return spans[-1][1] - 1


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, exactly (largest remainder)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    left = total - sum(counts)
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[:left]:
        counts[i] += 1
    return counts


def _rating_order(row: tuple) -> tuple:
    """A day's ratings in time order; ties as the tuples compare, a rating without reasons (None) first."""
    at, w, staff, score, top, reasons = row
    return at, w, staff, score, top, reasons or ""


def generate(path: Path, ratings: int, windows: int, days: int, sites: int = len(SITES), seed: int = 20261123) -> dict:
    """Write the hall's data into a new migrated database at `path`; returns row counts and seconds."""
    _remove(path)
    started = time.perf_counter()
    rng = random.Random(seed)
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")  # ratings and feedback reference events, which reports never read
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA temp_store = MEMORY")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           "AND tbl_name IN ('ratings', 'feedback', 'absences')").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    now_ms = to_ms(NOW)
    first_day = LAST_DAY - timedelta(days=days - 1)

    # the halls, windows, kiosks and clerks
    site_of = sites_of(windows, sites)
    ws = list(site_of)
    busy = {w: rng.uniform(0.4, 1.6) for w in ws}
    scale = {w: 3 if i % 20 == 19 else 5 for i, w in enumerate(ws)}
    mood = {w: rng.uniform(0.5, 1.5) for w in ws}  # >1: more low scores
    clerks = {w: (f"{1000 + 2 * i}", f"{1001 + 2 * i}") for i, w in enumerate(ws)}
    conn.executemany("INSERT INTO sites (site, name, timezone, hours, public) VALUES (?, ?, ?, ?, 0)",
                     [(s, n, DEFAULT_ZONE, HOURS_JSON) for s, n in site_list(sites)])
    conn.executemany("INSERT INTO staff (staff, name, site, active) VALUES (?, ?, ?, 1)",
                     [(c, f"职员{c}", site_of[w]) for w in ws for c in clerks[w]])
    conn.executemany("INSERT INTO devices (device, window, confirmed, online, presence, outbox, version, "
                     "first_seen, last_seen, rejected, sensor) "
                     "VALUES (?, ?, 1, ?, 'present', 0, '0.1.0', ?, ?, 0, 'ok')",
                     [(f"k{w[1:]}", w, 0 if i % 25 == 24 else 1, to_ms(datetime.combine(first_day, dtime(8), TZ)),
                       now_ms - (3_600_000 if i % 25 == 24 else 5_000)) for i, w in enumerate(ws)])
    installed = to_ms(datetime.combine(first_day, dtime(8), TZ))  # each kiosk's first event: staffed counts from it
    conn.executemany("INSERT INTO windows (window, title, device, presence, staff, site, first_at) "
                     "VALUES (?, ?, ?, 'present', ?, ?, ?)",
                     [(w, f"{int(w[1:])}号窗口", f"k{w[1:]}", clerks[w][0], site_of[w], installed) for w in ws])
    conn.commit()

    # ratings per window and day, in proportion to how busy the window and the day are
    day_list = [first_day + timedelta(days=d) for d in range(days)]
    day_spans = [spans_of(d, now_ms) for d in day_list]
    cells = [(di, w) for di, spans in enumerate(day_spans) if spans for w in ws]
    weights = [sum(b - a for a, b in day_spans[di]) * busy[w] * rng.uniform(0.7, 1.3) for di, w in cells]
    per_cell = dict(zip(cells, _split(ratings, weights)))

    rating_sql = "INSERT INTO ratings (event_id, window, staff, at, score, scale, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)"
    feedback_sql = ("INSERT INTO feedback (event_id, window, staff, at, text, rating_id, channel) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'kiosk')")
    absence_sql = ("INSERT INTO absences (id, window, staff, start_at, end_at, start_event, end_event) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)")
    seq = n_feedback = n_absences = 0
    pending: list[tuple] = []
    away: dict[str, tuple[int, int]] = {}
    conn.execute("BEGIN")
    for di, spans in enumerate(day_spans):
        if not spans:
            continue
        total = sum(b - a for a, b in spans)
        rows = []
        absences = []
        for w in ws:
            staff = clerks[w][di % 2]
            n = per_cell[(di, w)]
            top = scale[w]
            m = mood[w]
            if top == 5:
                weights5 = (0.55 / m, 0.27, 0.09 * m, 0.05 * m, 0.04 * m)
                scores = rng.choices((5, 4, 3, 2, 1), weights5, k=n)
            else:
                scores = rng.choices((3, 2, 1), (0.75 / m, 0.17, 0.08 * m), k=n)
            low = 2 if top == 5 else 1
            for score in scores:
                reasons = REASON_SETS[int(rng.random() * len(REASON_SETS))] if score <= low and rng.random() < 0.5 \
                    else None
                rows.append((_moment(rng, spans, total), w, staff, score, top, reasons))
            # absences: 0-4 a day, 1-12 minutes mostly, now and then half an hour
            for _ in range(rng.choices((0, 1, 2, 3, 4), (0.25, 0.3, 0.25, 0.12, 0.08))[0]):
                start = _moment(rng, spans, total)
                length = rng.randint(60_000, 720_000) if rng.random() < 0.9 else rng.randint(900_000, 2_400_000)
                absences.append((w, staff, start, start + length))
            if di == len(day_spans) - 1 and int(w[1:]) % 17 == 3:  # away at the moment the clock stands
                absences.append((w, staff, now_ms - rng.randint(60_000, 1_800_000), None))
        rows.sort(key=_rating_order)
        for at, w, staff, score, top, reasons in rows:
            seq += 1
            event_id = f"bench-r{seq:019d}"
            pending.append((event_id, w, staff, at, score, top, reasons))
            if rng.random() < 0.02:
                n_feedback += 1
                conn.execute(feedback_sql, (f"bench-f{n_feedback:019d}", w, staff, at + 45_000,
                                            COMMENTS[int(rng.random() * len(COMMENTS))], event_id))
        absences.sort(key=lambda a: (a[0], a[2]))
        kept = []
        for w, staff, start, end in absences:  # one window's absences never overlap, none ends after now
            if kept and kept[-1][0] == w and (kept[-1][3] is None or kept[-1][3] >= start):
                continue
            kept.append((w, staff, start, None if end is None else min(end, now_ms - 1)))
        for w, staff, start, end in kept:
            n_absences += 1
            conn.execute(absence_sql, (n_absences, w, staff, start, end, f"bench-a{n_absences:019d}",
                                       None if end is None else f"bench-p{n_absences:019d}"))
            if end is None:
                away[w] = (n_absences, start)
        if len(pending) >= BATCH:
            conn.executemany(rating_sql, pending)
            pending.clear()
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.executemany(rating_sql, pending)
    for w, (absence, _) in away.items():
        conn.execute("UPDATE windows SET presence = 'away', open_absence = ? WHERE window = ?", (absence, w))
        conn.execute("UPDATE devices SET presence = 'away' WHERE window = ?", (w,))
    conn.execute("COMMIT")
    loaded = time.perf_counter() - started
    for _name, sql in indexes:  # the migrations' own statements
        conn.execute(sql)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    if seq != ratings:
        raise BenchError(f"generated {seq} ratings, asked for {ratings}")
    record = {"ratings": seq, "feedback": n_feedback, "absences": n_absences, "load_s": round(loaded, 1),
              "index_s": round(time.perf_counter() - started - loaded, 1),
              "seconds": round(time.perf_counter() - started, 1), "bytes": path.stat().st_size}
    return record


def prepare(path: Path, ratings: int, windows: int, days: int, sites: int = len(SITES)) -> tuple[dict, bool]:
    """The database at `path`, made unless a complete one with the same parameters is there: (record, made)."""
    params = {"ratings": ratings, "windows": windows, "sites": sites, "days": days, "generator": GENERATOR}
    record = cached(path, params)
    if record is not None:
        return record, False
    record = {"params": params, **generate(path, ratings, windows, days, sites)}
    _marker(path).write_text(json.dumps(record))
    return record, True


# ---------------------------------------------------------------- the measurements
def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def full_months(days: int) -> list[date]:
    """First days of the months that lie wholly inside the data's days."""
    first = LAST_DAY - timedelta(days=days - 1)
    month = first if first.day == 1 else add_months(first.replace(day=1), 1)
    out = []
    while month_end(month) <= LAST_DAY:
        out.append(month)
        month = month_end(month) + timedelta(days=1)
    return out


def _ms_range(first: date, last: date) -> tuple[int, int]:
    return (to_ms(datetime.combine(first, dtime(), TZ)), to_ms(datetime.combine(last + timedelta(days=1), dtime(), TZ)))


class Site:
    """The real app over the database, with a manager logged in through the test client."""

    def __init__(self, path: Path):
        from server.domain.passwords import hash_password
        from server.store import Store
        from server.web.app import create_app

        self.path = path
        self.app = create_app({"DATABASE": str(path), "CLOCK": FakeClock(NOW.astimezone(UTC)),
                               "TESTING": True, "SECRET_KEY": "bench-reports"})
        name, password = MANAGER
        store = Store(open_db(path, migrate=False))
        if store.accounts.user_by_name(name) is None:
            store.accounts.create_user(name, hash_password(password), "manager", None, to_ms(NOW))
        store.db.close()
        self.client = self.app.test_client()
        form = self.client.get("/login").get_data(as_text=True)
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        answer = self.client.post("/login", data={"username": name, "password": password, "csrf_token": csrf})
        if answer.status_code != 302:
            raise BenchError(f"could not log in: {answer.status_code}")

    def get_ms(self, url: str) -> float:
        start = time.perf_counter()
        answer = self.client.get(url)
        body = answer.get_data()
        ms = (time.perf_counter() - start) * 1000
        if answer.status_code != 200 or not body:
            raise BenchError(f"GET {url}: {answer.status_code}")
        return ms


def month_report_url(window: str, first: date, last: date) -> str:
    return f"/windows/{window}?from={first.isoformat()}&to={last.isoformat()}"


def time_month_reports(site: Site, rng: random.Random, windows: int, days: int, n: int, months: int = 1) -> list[float]:
    """Whole-page times of the window report over `months` whole months, random windows and months."""
    choices = full_months(days)[months - 1:]
    if not choices:
        raise BenchError(f"no {months} whole months in {days} days")
    out = []
    for _ in range(n):
        window = window_id(rng.randint(1, windows))
        last = rng.choice(choices)
        first = last
        for _ in range(months - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        out.append(site.get_ms(month_report_url(window, first, month_end(last))))
    return out


def board_url(hall: str | None = None) -> str:
    """The board's JSON: of one hall (`?site=`, what a city's board shows), or of every window."""
    return "/board.json" if hall is None else f"/board.json?site={hall}"


def time_board(site: Site, n: int, windows: int, hall: str | None = None) -> list[float]:
    url = board_url(hall)
    shown = len(site.client.get(url).get_json()["windows"])
    if shown != windows:
        raise BenchError(f"{url} shows {shown} windows, expected {windows}")
    return [site.get_ms(url) for _ in range(n)]


def hall_of(windows: int, sites: int) -> tuple[str, int]:
    """The hall whose board is timed (the middle one), and how many windows it has."""
    hall = site_list(sites)[sites // 2][0]
    return hall, sum(1 for s in sites_of(windows, sites).values() if s == hall)


def growth(path: Path, params: dict) -> dict:
    """Generation time and database size of every database generated beside `path` with the same windows,
    halls and days but another number of ratings (e.g. the 10 M run beside the 100 M one), smallest first,
    with the factors from the smallest to the largest."""
    runs = []
    for marker in sorted(path.parent.glob("*.done.json")):
        try:
            record = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
        other = record.get("params", {})
        db_path = marker.with_name(marker.name.removesuffix(".done.json"))
        if {k: v for k, v in other.items() if k != "ratings"} != {k: v for k, v in params.items() if k != "ratings"} \
                or not db_path.exists():
            continue
        runs.append({"ratings": record["ratings"], "windows": other["windows"], "sites": other["sites"],
                     "days": other["days"], "generate_s": record["seconds"], "generate_load_s": record["load_s"],
                     "generate_index_s": record["index_s"], "db_bytes": db_path.stat().st_size,
                     "db": str(db_path)})
    runs.sort(key=lambda r: r["ratings"])
    out: dict = {"runs": runs}
    if len(runs) > 1 and runs[0]["ratings"]:
        small, large = runs[0], runs[-1]
        out.update({"ratings_x": round(large["ratings"] / small["ratings"], 2),
                    "generate_s_x": round(large["generate_s"] / max(small["generate_s"], 0.1), 2),
                    "db_bytes_x": round(large["db_bytes"] / small["db_bytes"], 2)})
    for r in runs:
        r["bytes_per_rating"] = round(r["db_bytes"] / r["ratings"], 1)
        r["ratings_per_s"] = round(r["ratings"] / max(r["generate_s"], 0.1))
    return out


QUARTERS_SQL = ("SELECT at / 900000, scale, score, count(*) FROM ratings {hint} "
                "WHERE window = ? AND at >= ? AND at < ? GROUP BY at / 900000, scale, score ORDER BY 1, 2, 3")


def full_scan(path: Path, rng: random.Random, windows: int, days: int, rounds: int = 3) -> dict:
    """A month's rating figures (distribution and daily trend) by a full scan of `ratings`, and by the index."""
    from server.domain.figures import DayRange, daily_summaries, rating_summary

    conn = open_db(path, migrate=False).conn
    scan_ms, index_ms = [], []
    try:
        for _ in range(rounds):
            window = window_id(rng.randint(1, windows))
            first = rng.choice(full_months(days))
            days_ = DayRange(first, month_end(first), TZ)
            params = (window, days_.start, days_.end)
            start = time.perf_counter()
            scanned = conn.execute(QUARTERS_SQL.format(hint="NOT INDEXED"), params).fetchall()
            figures = (rating_summary((s, c, n) for _, s, c, n in scanned), daily_summaries(scanned, days_))
            scan_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            indexed = conn.execute(QUARTERS_SQL.format(hint=""), params).fetchall()
            by_index = (rating_summary((s, c, n) for _, s, c, n in indexed), daily_summaries(indexed, days_))
            index_ms.append((time.perf_counter() - start) * 1000)
            if figures != by_index or not figures[0]["total"]:
                raise BenchError(f"the full scan and the index disagree for {window} {first:%Y-%m}")
    finally:
        conn.close()
    return {"full_scan_ms": round(statistics.median(scan_ms), 1), "indexed_ms": round(statistics.median(index_ms), 2)}


@contextlib.contextmanager
def traced_connections(statement):
    """Meanwhile every connection the web app opens (server.web.context.open_db) calls `statement(sql)` for each
    SQL statement it runs."""
    import server.web.context as web_context

    opened = web_context.open_db

    def traced(*args, **kwargs):
        db = opened(*args, **kwargs)
        db.conn.set_trace_callback(statement)
        return db

    web_context.open_db = traced
    try:
        yield
    finally:
        web_context.open_db = opened


class Observer:
    """While active: the time of every store method the app calls (each repository's public methods, named
    `reports.rating_counts_of` after their module; per method, summed per request) and the SQL each one ran
    (the app's connections get a trace callback), to say where a request's time goes."""

    def __init__(self):
        self.ms: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self.sql: dict[str, str] = {}
        self._current: list[str] = []

    def __enter__(self) -> Observer:
        import server.store  # noqa: F401  (every repository class, imported by Store)
        from server.store.base import StoreBase

        self._methods = [(cls, name, f) for cls in _subclasses(StoreBase) for name, f in vars(cls).items()
                         if inspect.isfunction(f) and not name.startswith("_")]
        for cls, name, f in self._methods:
            setattr(cls, name, self._timed(f"{cls.__module__.rsplit('.', 1)[-1]}.{name}", f))
        self._tracing = traced_connections(self._statement)
        self._tracing.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, f in self._methods:
            setattr(cls, name, f)
        self._tracing.__exit__(*exc)

    def _timed(self, name: str, f):
        @functools.wraps(f)
        def timed(*args, **kwargs):
            self._current.append(name)
            start = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                self._current.pop()
                if not self._current:  # a method called by another counts in the caller's time
                    self.ms[name] += (time.perf_counter() - start) * 1000
                    self.calls[name] += 1
        return timed

    def _statement(self, sql: str) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            for name in self._current:  # a method's SQL is also its callers'
                self.sql.setdefault(name, sql)

    def top(self, requests: int, n: int = 4) -> list[dict]:
        """The methods that took longest, in ms per request, with their calls per request."""
        return [{"method": name, "ms": round(total / requests, 1), "calls": round(self.calls[name] / requests, 1)}
                for name, total in sorted(self.ms.items(), key=lambda kv: -kv[1])[:n]]


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def where_time_goes(site: Site, path: Path, urls: list[str]) -> dict:
    """The whole request and its slowest store methods (ms per request), with their query plans."""
    with Observer() as seen:
        start = time.perf_counter()
        for url in urls:
            site.get_ms(url)
        whole = (time.perf_counter() - start) * 1000 / len(urls)
    top = seen.top(len(urls))
    conn = open_db(path, migrate=False).conn
    try:
        for item in top:
            sql = seen.sql.get(item["method"])
            item["plan"] = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)] if sql else []
    finally:
        conn.close()
    return {"request_ms": round(whole, 1), "store_ms": round(sum(seen.ms.values()) / len(urls), 1), "top": top}


def ms(values: list[float]) -> dict:
    return {"p50": round(percentile(values, 50), 1), "p99": round(percentile(values, 99), 1), "n": len(values)}


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(7)
    path = Path(args.db) if args.db else cache_path(args.ratings, args.windows, args.days, args.sites)
    made: list[Path] = []
    try:
        record, new = prepare(path, args.ratings, args.windows, args.days, args.sites)
        made += [path] if new else []
        control = None
        if args.control:
            c_ratings, c_days = max(1, args.ratings // 10), max(62, args.days // 10)
            c_path = (path.with_name(path.stem + "-control" + path.suffix) if args.db
                      else cache_path(c_ratings, args.windows, c_days, args.sites))
            c_record, c_new = prepare(c_path, c_ratings, args.windows, c_days, args.sites)
            made += [c_path] if c_new else []
            control = (c_path, c_record, c_days)

        hall, hall_windows = hall_of(args.windows, args.sites)
        site = Site(path)
        time_month_reports(site, rng, args.windows, args.days, 5)  # warm-up, not counted
        month = time_month_reports(site, rng, args.windows, args.days, args.requests)
        long_months = min(12, len(full_months(args.days)))
        year = time_month_reports(site, rng, args.windows, args.days, max(10, args.requests // 10), months=long_months)
        board = time_board(site, args.all_board_requests or args.board_requests, args.windows)
        hall_board = time_board(site, args.board_requests, hall_windows, hall)
        last_month = full_months(args.days)[-1]
        printable = [site.get_ms(f"/reports/monthly?month={last_month:%Y-%m}") for _ in range(3)]
        hall_printable = [site.get_ms(f"/reports/monthly?month={last_month:%Y-%m}&site={hall}") for _ in range(3)]
        scan = full_scan(path, rng, args.windows, args.days)
        sample = [month_report_url(window_id(rng.randint(1, args.windows)), m, month_end(m))
                  for m in rng.choices(full_months(args.days), k=20)]
        month_parts = where_time_goes(site, path, sample)
        board_parts = where_time_goes(site, path, [board_url()] * 5)
        hall_board_parts = where_time_goes(site, path, [board_url(hall)] * 5)
        figures = {
            "ratings": record["ratings"], "windows": args.windows, "sites": args.sites, "days": args.days,
            "feedback": record["feedback"], "absences": record["absences"],
            "db_bytes": path.stat().st_size, "generated": new,
            "generate_s": record["seconds"], "generate_load_s": record["load_s"], "generate_index_s": record["index_s"],
            "month_report_p50_ms": ms(month)["p50"], "month_report_p99_ms": ms(month)["p99"],
            "month_report_requests": len(month),
            "long_range_months": long_months,
            "long_range_report_p50_ms": ms(year)["p50"], "long_range_report_p99_ms": ms(year)["p99"],
            "board_p50_ms": ms(board)["p50"], "board_p99_ms": ms(board)["p99"], "board_requests": len(board),
            "site_board_site": hall, "site_board_windows": hall_windows,
            "site_board_p50_ms": ms(hall_board)["p50"], "site_board_p99_ms": ms(hall_board)["p99"],
            "site_board_requests": len(hall_board),
            "full_scan_ms": scan["full_scan_ms"], "indexed_query_ms": scan["indexed_ms"],
            "monthly_printable_ms": round(statistics.median(printable), 1),
            "site_monthly_printable_ms": round(statistics.median(hall_printable), 1),
            "month_report_parts": month_parts, "board_parts": board_parts, "site_board_parts": hall_board_parts,
        }
        if control is not None:
            c_path, c_record, c_days = control
            c_site = Site(c_path)
            time_month_reports(c_site, rng, args.windows, c_days, 5)
            c_month = time_month_reports(c_site, rng, args.windows, c_days, args.requests)
            c_board = time_board(c_site, args.all_board_requests or args.board_requests, args.windows)
            c_hall_board = time_board(c_site, args.board_requests, hall_windows, hall)
            figures.update({"control_ratings": c_record["ratings"], "control_days": c_days,
                            "control_generate_s": c_record["seconds"],
                            "control_month_report_p50_ms": ms(c_month)["p50"],
                            "control_month_report_p99_ms": ms(c_month)["p99"],
                            "control_board_p99_ms": ms(c_board)["p99"],
                            "control_site_board_p99_ms": ms(c_hall_board)["p99"]})
        figures["growth"] = growth(path, record["params"])
        figures["targets"] = {"month_report_p99": figures["month_report_p99_ms"] < TARGET_MONTH_P99_MS,
                              "site_board_p99": figures["site_board_p99_ms"] < TARGET_BOARD_P99_MS,
                              "board_p99": figures["board_p99_ms"] < TARGET_BOARD_P99_MS}
        figures["targets_met"] = figures["targets"]["month_report_p99"] and figures["targets"]["site_board_p99"]
        figures["load_average"] = round(os.getloadavg()[0], 2)
        return figures
    finally:
        if not args.keep:
            for p in made:
                _remove(p)


def report(f: dict) -> None:
    print(f"data: {f['ratings']:,} ratings, {f['feedback']:,} comments, {f['absences']:,} absences; "
          f"{f['windows']} windows in {f['sites']} halls, {f['days']} days; {f['db_bytes'] / 2**20:,.0f} MiB"
          + (f"; generated in {f['generate_s']:.0f} s (load {f['generate_load_s']:.0f} s, "
             f"indexes {f['generate_index_s']:.0f} s)" if f["generated"] else " (cached)"))
    print(f"window month report (GET /windows/<w>, whole page): p50 {f['month_report_p50_ms']:.1f} ms, "
          f"p99 {f['month_report_p99_ms']:.1f} ms over {f['month_report_requests']} requests "
          f"(target p99 < {TARGET_MONTH_P99_MS:.0f} ms)")
    print(f"one hall's board (GET /board.json?site={f['site_board_site']}, "
          f"{f['site_board_windows']} windows): p50 {f['site_board_p50_ms']:.1f} ms, "
          f"p99 {f['site_board_p99_ms']:.1f} ms over {f['site_board_requests']} requests "
          f"(target p99 < {TARGET_BOARD_P99_MS:.0f} ms)")
    print(f"board of every hall (GET /board.json, {f['windows']} windows): p50 {f['board_p50_ms']:.1f} ms, "
          f"p99 {f['board_p99_ms']:.1f} ms over {f['board_requests']} requests "
          f"(p99 < {TARGET_BOARD_P99_MS:.0f} ms: {'yes' if f['targets']['board_p99'] else 'no'})")
    print(f"baseline: one window-month's rating figures by full scan {f['full_scan_ms']:.0f} ms, "
          f"by the index {f['indexed_query_ms']:.2f} ms")
    print(f"range: the same report over {f['long_range_months']} months p50 {f['long_range_report_p50_ms']:.1f} ms, "
          f"p99 {f['long_range_report_p99_ms']:.1f} ms (1 month: p50 {f['month_report_p50_ms']:.1f} ms)")
    if "control_ratings" in f:
        print(f"table size: on {f['control_ratings']:,} ratings over {f['control_days']} days (same windows, same "
              f"ratings per window-day) the month report is p50 {f['control_month_report_p50_ms']:.1f} / "
              f"p99 {f['control_month_report_p99_ms']:.1f} ms, one hall's board p99 "
              f"{f['control_site_board_p99_ms']:.1f} ms, every hall's {f['control_board_p99_ms']:.1f} ms")
    print(f"printable monthly report (/reports/monthly: every window, or the first hall's when they fill more "
          f"than a page): {f['monthly_printable_ms']:.0f} ms; of one hall (?site=): "
          f"{f['site_monthly_printable_ms']:.0f} ms")
    for run in f["growth"]["runs"]:
        print(f"generated: {run['ratings']:,} ratings ({run['windows']} windows, {run['sites']} halls, "
              f"{run['days']} days) in {run['generate_s']:,.0f} s, {run['db_bytes'] / 2**30:,.2f} GiB "
              f"({run['bytes_per_rating']:.0f} bytes a rating)")
    if "ratings_x" in f["growth"]:
        g = f["growth"]
        print(f"growth: {g['ratings_x']:g}x the ratings took {g['generate_s_x']:g}x the time and "
              f"{g['db_bytes_x']:g}x the disk")
    for label, key in (("month report", "month_report_parts"), ("hall board", "site_board_parts"),
                       ("every hall's board", "board_parts")):
        parts = f[key]
        print(f"where a {label} request's {parts['request_ms']:.0f} ms go: {parts['store_ms']:.0f} ms in store "
              "methods, the rest in Python (figures, templates); slowest: "
              + ", ".join(f"{t['method']} {t['ms']} ms ({t['calls']:g} calls)" for t in parts["top"]))
        if not f["targets_met"]:
            for t in parts["top"][:2]:
                print(f"    plan of {t['method']}: {' | '.join(t['plan'])}")
    print("targets " + ("met" if f["targets_met"] else "MISSED"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=10_000_000, help="ratings in all (default 10,000,000)")
    parser.add_argument("--windows", type=int, default=200, help="windows (default 200)")
    parser.add_argument("--sites", type=int, default=len(SITES),
                        help=f"halls the windows are spread over, evenly (default {len(SITES)}); the board is timed "
                             "for the manager of one of them, and for a manager of every one")
    parser.add_argument("--days", type=int, default=730, help="days of data, ending 2026-11-23 (default 730)")
    parser.add_argument("--requests", type=int, default=200, help="month reports timed (default 200)")
    parser.add_argument("--board-requests", type=int, default=100,
                        help="board requests timed, for one hall and for every hall (default 100)")
    parser.add_argument("--all-board-requests", type=int,
                        help="board requests of every hall timed (default: --board-requests)")
    parser.add_argument("--db", help="the database's path (default: a cache file named by the parameters)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated databases, so a re-run with the same parameters skips generation")
    parser.add_argument("--no-control", dest="control", action="store_false",
                        help="skip the control database with a tenth of the ratings over a tenth of the days")
    args = parser.parse_args(argv)
    if args.windows < 1 or args.days < 62 or args.ratings < args.windows or args.requests < 1:
        parser.error("need at least one window, 62 days (two whole months) and one rating per window")
    if not 1 <= args.sites <= args.windows:
        parser.error("need at least one hall, and no more halls than windows")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        figures = run(args)
    except BenchError as exc:
        log.error("%s", exc)
        return 1
    report(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
