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

from shared.scoring import is_satisfied

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
    """From (scale, score, count) rows: `n`, `satisfied_lower` and `satisfied_interval` ([low, high], 3 decimals;
    None without ratings)."""
    n = satisfied = 0
    for scale, score, count in counts:
        n += count
        satisfied += count if is_satisfied(score, scale) else 0
    interval = wilson(satisfied, n)
    return {"n": n, "satisfied_lower": round(interval[0], 3) if interval else None,
            "satisfied_interval": [round(interval[0], 3), round(interval[1], 3)] if interval else None}


def rank(rows: list[dict], figures: Callable[[dict], dict], field: str, last: str, min_sample: int) -> None:
    """Competition ranking (1, 2, 2, 4) into row[field], by the satisfied rate's lower bound, then the
    satisfaction index; None for a row below `min_sample` ratings, which gets row["ranked"] False (for the
    current period's `field` "rank" only). `figures(row)` gives n, satisfied_lower and index. row[last]: the
    lowest place, shared by ties, unless every ranked row shares the first."""
    def key(row: dict) -> tuple:
        f = figures(row)
        return f["satisfied_lower"], f["index"]

    rated = sorted((r for r in rows if figures(r)["n"] and figures(r)["n"] >= min_sample), key=key, reverse=True)
    for place, row in enumerate(rated, 1):
        same = place > 1 and key(rated[place - 2]) == key(row)
        row[field] = rated[place - 2][field] if same else place
    lowest = max((r[field] for r in rated), default=1)
    for row in rows:
        row.setdefault(field, None)
        row[last] = lowest > 1 and row[field] == lowest
        if field == "rank":
            row["ranked"] = row[field] is not None
