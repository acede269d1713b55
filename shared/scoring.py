"""What a score means on its scale: one definition for kiosk, reports and follow-up."""
from __future__ import annotations

from collections.abc import Collection, Mapping


def is_satisfied(score: int, scale: int) -> bool:
    """5-scale: 4 and 5; 4-scale: 3 and 4; 3-scale: 3."""
    return score > (scale + 1) / 2


# A bad review (差评) by default: the national rule's bottom two of five levels (不满意, 非常不满意); on a scale of
# three or four levels, only the bottom one (a two-level band would take in "基本满意"'s neighbour, half the scale).
# The kiosk asks for reasons on these; the follow-up rules (server/domain/cases.py) start from them and an admin may
# widen them per scale, and the 差评 alert counts what those rules count.
BAD_LEVELS = {5: 2, 4: 1, 3: 1}


def lowest_levels(count: int) -> frozenset[int]:
    """The `count` lowest levels of any scale (1 is the worst)."""
    return frozenset(range(1, count + 1))


DEFAULT_BAD = {scale: lowest_levels(count) for scale, count in BAD_LEVELS.items()}


def is_bad(score: int, scale: int, bad: Mapping[int, Collection[int]] = DEFAULT_BAD) -> bool:
    """A bad review (差评): one of the scale's bad levels, by default the national rule above."""
    return score in bad.get(scale, ())


def index_points(score: int, scale: int) -> float:
    """(score - 1) / (scale - 1) x 100: 0 for the worst level, 100 for the best."""
    return (score - 1) / (scale - 1) * 100
