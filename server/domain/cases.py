"""Bad-review follow-up: which ratings open a case, their deadline, and what may be done to a case when.

The rules are a setting an admin changes (`store.settings.setting("cases", ...)`, JSON):
`{"bad": {"5": [1, 2], "4": [1], "3": [1]}, "days": 5}`: the levels of each scale that are a bad
review (差评; the lowest ones, by default shared/scoring.py's national rule), and the deadline in working days (5, 7 or 15, by locality). Pure.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.domain.workdays import Calendar
from shared import scoring
from shared.contract import SCALES
from shared.scoring import DEFAULT_BAD

SETTING = "cases"
DEADLINES = (5, 7, 15)
VERDICTS = ("satisfied", "basically", "unsatisfied")  # 满意 / 基本满意 / 不满意

# what may be done to a case in each status, and the status it is in afterwards
TRANSITIONS: dict[str, dict[str, str]] = {
    "open": {"assign": "open", "note": "open", "callback": "open", "verdict": "open", "close": "closed"},
    "closed": {"note": "closed", "reopen": "open"},
}

# what the audit trail calls each action (besides 'opened' by the system and 'rescheduled' after a calendar change)
LOGGED_AS = {"assign": "assigned", "note": "note", "callback": "callback", "verdict": "verdict", "close": "closed",
             "reopen": "reopened"}


class NotAllowed(Exception):
    """An action the case's status does not allow, or a close before the callback and the verdict."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code  # 'status' (not in this status) or 'incomplete' (close without callback/verdict)


@dataclass(frozen=True)
class Rules:
    bad: Mapping[int, frozenset[int]] = field(
        default_factory=lambda: dict(DEFAULT_BAD))
    days: int = 5

    def to_json(self) -> dict[str, Any]:
        return {"bad": {str(s): sorted(levels) for s, levels in sorted(self.bad.items())}, "days": self.days}

    def lowest(self, scale: int) -> int:
        """How many of the scale's lowest levels are bad."""
        return len(self.bad.get(scale, ()))


def rules_from(value: Any) -> Rules:
    """Rules from the stored setting; what is missing or malformed takes the default."""
    default = Rules()
    if not isinstance(value, Mapping):
        return default
    bad = dict(default.bad)
    stored = value.get("bad")
    if isinstance(stored, Mapping):
        for key, levels in stored.items():
            try:
                scale = int(key)
            except (TypeError, ValueError):
                continue
            if scale in SCALES and isinstance(levels, list) and all(
                    isinstance(v, int) and 1 <= v < scale for v in levels):
                bad[scale] = frozenset(levels)
    days = value.get("days")
    return Rules(bad, days if days in DEADLINES else default.days)


def bad_levels(scale: int, count: int) -> frozenset[int]:
    """The `count` lowest levels of a scale, checked: at least one, never the top level."""
    if scale not in SCALES:
        raise ValueError(f"no scale {scale}")
    if not 1 <= count < scale:
        raise ValueError(f"1 to {scale - 1} of the lowest levels of a {scale}-level scale")
    return scoring.lowest_levels(count)


def is_bad(score: int, scale: int, rules: Rules) -> bool:
    """A bad review under these rules (shared/scoring.py is_bad with the admin's levels)."""
    return scoring.is_bad(score, scale, rules.bad)


def due_date(calendar: Calendar, opened: date, rules: Rules) -> date:
    """The last day to finish by: the rules' n-th working day after the day the rating was given."""
    return calendar.add_working_days(opened, rules.days)


def check(status: str, action: str, case: Mapping | None = None) -> str:
    """The status after `action`, or NotAllowed. Closing needs the callback and the verdict recorded."""
    after = TRANSITIONS.get(status, {}).get(action)
    if after is None:
        raise NotAllowed("status")
    if action == "close" and case is not None and (case.get("callback_at") is None or not case.get("verdict")):
        raise NotAllowed("incomplete")
    return after


def allowed(status: str) -> frozenset[str]:
    return frozenset(TRANSITIONS.get(status, {}))
