"""What a score means on its scale: one definition for kiosk, reports and follow-up."""
from __future__ import annotations


def is_satisfied(score: int, scale: int) -> bool:
    """5-scale: 4 and 5; 4-scale: 3 and 4; 3-scale: 3."""
    return score > (scale + 1) / 2


# A bad review (差评) by default: the national rule's bottom two of five levels (不满意, 非常不满意); on a scale of
# three or four levels, only the bottom one (a two-level band would take in "基本满意"'s neighbour, half the scale).
# The one definition: the kiosk asks for reasons on these, the follow-up rules (server/domain/cases.py) start from them
# (an admin may widen them per scale), and the 差评 alert counts what those rules count.
BAD_LEVELS = {5: 2, 4: 1, 3: 1}


def is_low(score: int, scale: int) -> bool:
    """A bad review (差评) by default: one of the scale's BAD_LEVELS lowest levels."""
    return score <= BAD_LEVELS.get(scale, 1)


def index_points(score: int, scale: int) -> float:
    """(score - 1) / (scale - 1) x 100: 0 for the worst level, 100 for the best."""
    return (score - 1) / (scale - 1) * 100
