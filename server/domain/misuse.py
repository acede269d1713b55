"""Misuse flags: ratings that do not look like a customer's own, by rules a site's admin can tune.

Documented cases (domain.md, "Whether the figures can be believed"): a clerk pressing 满意 himself, officials
handing out "standard answers", figures near 100%. Each rule below flags ratings with a reason; a flagged rating
is kept and counted as the site decides (`official`: "all" counts it, "unflagged" leaves it out of the official
figures), and every report shows the figures with and without flagged ratings.

- `hours`: given while the site is closed (its opening hours; a site without hours is never closed);
- `signin`: given within `signin_seconds` after a clerk signed in at the window;
- `burst`: one of at least `burst_count` ratings within `burst_seconds` at one window;
- `run`: one of a run of at least `run_length` top scores in a row given faster than `run_pace` times the
  window's usual pace (its ratings per opening hour over the 28 days before);
- `served`: beyond the customers the window's system says it served that day (where it says so);
- `outlier`: a top score of a clerk whose share of top scores over the 30 days before is a statistical outlier
  for the site (a one-sided binomial test against the other clerks' share, p below `outlier_alpha`, with at
  least `outlier_min` ratings).
"""
from __future__ import annotations

import bisect
import collections
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

log = logging.getLogger(__name__)

RULES = ("hours", "signin", "burst", "run", "served", "outlier")
OFFICIAL = ("all", "unflagged")


@dataclass(frozen=True)
class Settings:
    """A site's misuse rules: which apply, their thresholds, and which ratings the official figures count."""
    hours: bool = True
    signin: bool = True
    signin_seconds: int = 20
    burst: bool = True
    burst_count: int = 5
    burst_seconds: int = 60
    run: bool = True
    run_length: int = 8
    run_pace: float = 3.0
    served: bool = True
    outlier: bool = True
    outlier_min: int = 50
    outlier_alpha: float = 0.001
    official: str = "all"

    @classmethod
    def parse(cls, data: dict) -> Settings:
        """From stored or submitted values; ValueError naming the first one out of bounds."""
        values = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            low, high = BOUNDS.get(f.name, (None, None))
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name} must be true or false")
            elif f.name == "official":
                if value not in OFFICIAL:
                    raise ValueError(f"official must be one of {', '.join(OFFICIAL)}")
            elif f.type == "int":
                if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                    raise ValueError(f"{f.name} must be a whole number from {low} to {high}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValueError(f"{f.name} must be a number from {low} to {high}")
            values[f.name] = value
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def stored(cls, values: dict) -> Settings:
        """A site's settings as stored; the built-in ones where the stored ones are unusable (logged)."""
        try:
            return cls.parse(values)
        except ValueError as exc:
            log.error("misuse settings %r are unusable, the built-in ones apply: %s", values, exc)
            return cls()


BOUNDS = {"signin_seconds": (1, 3600), "burst_count": (2, 1000), "burst_seconds": (1, 3600),
          "run_length": (2, 1000), "run_pace": (1.0, 100.0), "outlier_min": (10, 100_000),
          "outlier_alpha": (1e-9, 0.1)}


class Rating(NamedTuple):
    id: str
    at: int      # ms
    score: int
    scale: int
    staff: str | None


class Flag(NamedTuple):
    id: str
    rule: str
    detail: str


def outside_hours(ratings: Iterable[Rating], is_open: Callable[[int], bool]) -> list[Flag]:
    return [Flag(r.id, "hours", "given while the site was closed") for r in ratings if not is_open(r.at)]


def after_signin(ratings: Iterable[Rating], signins: Sequence[int], seconds: int) -> list[Flag]:
    """Ratings within `seconds` after one of the `signins` (ms, any order), with the time since the latest of them.
    A kiosk may send as many sign-ins as ratings: each rating looks up its latest sign-in (log n), not every one."""
    flags = []
    ordered = sorted(signins)
    for r in ratings:
        latest = bisect.bisect_right(ordered, r.at) - 1  # the last sign-in at or before the rating
        if latest >= 0 and r.at - ordered[latest] <= seconds * 1000:
            flags.append(Flag(r.id, "signin", f"{(r.at - ordered[latest]) / 1000:.0f} s after a clerk signed in"))
    return flags


def bursts(ratings: Sequence[Rating], count: int, seconds: int) -> list[Flag]:
    """Every rating of a stretch of at least `count` ratings within `seconds` (ratings in time order), with the
    largest such stretch it is in.

    Linear in the ratings: a kiosk pressed in a loop gives a day of thousands within a minute, and looking at
    every stretch's ratings again would take the background jobs minutes of CPU for one such window-day."""
    span = seconds * 1000
    firsts: list[int] = []  # firsts[last]: the first rating of the longest stretch that ends at `last`
    sizes: list[int] = []   # sizes[last]: how many ratings that stretch holds
    first = 0
    for last, r in enumerate(ratings):
        while r.at - ratings[first].at > span:
            first += 1
        firsts.append(first)
        sizes.append(last - first + 1)
    # Rating i is in the stretches that end at i..L, where L is the last `last` with firsts[last] <= i; both ends
    # only move forward, so the largest of those stretches is a sliding maximum (a deque of decreasing sizes).
    flags = []
    largest: collections.deque[int] = collections.deque()  # ends of stretches, their sizes decreasing
    end = 0
    for i, r in enumerate(ratings):
        while end < len(ratings) and firsts[end] <= i:
            while largest and sizes[largest[-1]] <= sizes[end]:
                largest.pop()
            largest.append(end)
            end += 1
        while largest[0] < i:
            largest.popleft()
        n = sizes[largest[0]]
        if n >= count:
            flags.append(Flag(r.id, "burst", f"{n} ratings within {seconds} s"))
    return flags


def top_runs(ratings: Sequence[Rating], length: int, pace: float, usual_per_hour: float | None) -> list[Flag]:
    """Runs of at least `length` top scores in a row (time order) given at more than `pace` times the usual
    ratings per hour; none without a usual pace."""
    if not usual_per_hour:
        return []
    flags: list[Flag] = []
    run: list[Rating] = []
    for r in [*ratings, None]:
        if r is not None and r.score == r.scale:
            run.append(r)
            continue
        if len(run) >= length:
            hours = max(run[-1].at - run[0].at, 60_000) / 3_600_000  # a run within a minute counts as one
            per_hour = (len(run) - 1) / hours if len(run) > 1 else 0
            if per_hour > pace * usual_per_hour:
                detail = f"{len(run)} top scores in a row at {per_hour:.0f} an hour (usually {usual_per_hour:.1f})"
                flags += [Flag(x.id, "run", detail) for x in run]
        run = []
    return flags


def beyond_served(ratings: Sequence[Rating], served: int | None) -> list[Flag]:
    """A day's ratings (time order) beyond the customers served that day; none where served is not known."""
    if not served or len(ratings) <= served:
        return []
    detail = f"{len(ratings)} ratings for {served} customers served that day"
    return [Flag(r.id, "served", detail) for r in ratings[served:]]


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def outlier_clerks(tops: dict[str, tuple[int, int]], minimum: int, alpha: float) -> dict[str, float]:
    """staff -> p-value, for clerks (top scores, ratings) whose share of top scores is improbably high against
    the other clerks of the site together: at least `minimum` ratings, one-sided binomial p below `alpha`."""
    total_top = sum(t for t, _ in tops.values())
    total_n = sum(n for _, n in tops.values())
    found = {}
    for staff, (top, n) in tops.items():
        others_n = total_n - n
        if n < minimum or others_n < minimum:
            continue
        p0 = (total_top - top) / others_n
        if top / n <= p0:
            continue
        p = binomial_tail(top, n, p0)
        if p < alpha:
            found[staff] = p
    return found


Counts = list[tuple[int, int, int]]  # (scale, score, count)


def both_ways(official: Counts, flagged: Counts, unflagged_only: bool) -> tuple[Counts, Counts]:
    """(with flagged ratings, without them) from the official counts and the flagged ones: the official
    figures are one of the two, as the site decides."""
    def plus(a: Counts, b: Counts, sign: int) -> Counts:
        total: dict[tuple[int, int], int] = {}
        for scale, score, n in a:
            total[scale, score] = total.get((scale, score), 0) + n
        for scale, score, n in b:
            total[scale, score] = total.get((scale, score), 0) + sign * n
        return [(scale, score, n) for (scale, score), n in sorted(total.items()) if n > 0]

    if unflagged_only:
        return plus(official, flagged, 1), list(official)
    return list(official), plus(official, flagged, -1)
