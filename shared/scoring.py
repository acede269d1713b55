"""What a score means on its scale: one definition for kiosk, reports and follow-up."""
from __future__ import annotations


def is_satisfied(score: int, scale: int) -> bool:
    """5-scale: 4 and 5; 4-scale: 3 and 4; 3-scale: 3."""
    return score > (scale + 1) / 2


def is_low(score: int, scale: int) -> bool:
    """A bad review (差评): the bottom two of five levels, the bottom one of three or four."""
    return score <= (2 if scale == 5 else 1)


def index_points(score: int, scale: int) -> float:
    """(score - 1) / (scale - 1) x 100: 0 for the worst level, 100 for the best."""
    return (score - 1) / (scale - 1) * 100
