"""Fair rankings (三比, the monthly report): by the lower bound of the satisfied rate's Wilson interval, and
only with enough ratings.

A window with 12 ratings, all satisfied, has a satisfied rate of 100% but a 95% interval of 75.8–100%; one with
1,200 ratings at 97% has 95.9–97.8%. Ranked by the lower bound the second comes first: the rate it shows is the
one it can be trusted to have. A row with fewer ratings than the minimum sample (a setting, default 30) is
shown but not ranked (样本不足); the setting is the store's (`settings.min_sample()`).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from server.domain.figures import satisfied_of

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson(satisfied: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of `satisfied` of `n`; None without ratings."""
    if n <= 0:
        return None
    p = satisfied / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def standing(counts: Iterable[tuple[int, int, int]]) -> dict:
    """From (scale, score, count) rows (satisfied as server/domain/figures.py `satisfied_of` counts them): `n`,
    `satisfied_lower` and `satisfied_interval` ([low, high], 3 decimals, as the satisfied rate; None without
    ratings)."""
    satisfied, n = satisfied_of(counts)
    interval = wilson(satisfied, n)
    low, high = (round(interval[0], 3), round(interval[1], 3)) if interval else (None, None)
    return {"n": n, "satisfied_lower": low, "satisfied_interval": [low, high] if interval else None}


def enough(n: int, min_sample: int) -> bool:
    """The minimum sample rule: a row is ranked with at least `min_sample` ratings, and never without any."""
    return n >= max(1, min_sample)


def rank(rows: list[dict], figures: Callable[[dict], dict], field: str, last: str, min_sample: int,
         ranked: str | None = None) -> None:
    """Competition ranking (1, 2, 2, 4) into row[field], by the satisfied rate's lower bound (as shown, 3
    decimals), then the satisfaction index; None for a row without `enough` ratings, listed after the ranked
    ones by whoever sorts. `figures(row)` gives n, satisfied_lower and index. row[last]: the lowest place, shared
    by ties, unless every ranked row shares the first. row[ranked], when named: whether the row has a place."""
    def key(row: dict) -> tuple:
        f = figures(row)
        return f["satisfied_lower"], f["index"]

    rated = sorted((r for r in rows if enough(figures(r)["n"], min_sample)), key=key, reverse=True)
    for place, row in enumerate(rated, 1):
        same = place > 1 and key(rated[place - 2]) == key(row)
        row[field] = rated[place - 2][field] if same else place
    lowest = max((r[field] for r in rated), default=1)
    for row in rows:
        row.setdefault(field, None)
        row[last] = lowest > 1 and row[field] == lowest
        if ranked:
            row[ranked] = row[field] is not None
