"""A window's figures for a range of days: the one place both the API and the pages take them from."""
from __future__ import annotations

from .reports import DayRange, absence_summary, rating_summary
from .store import Store


def window_summary(store: Store, window: str, days: DayRange, now_ms: int) -> dict:
    return {
        "window": window,
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "ratings": rating_summary(store.rating_counts(window, days.start, days.end)),
        "absences": absence_summary(store.absences(window, days.start, days.end), now_ms),
        "feedback": {"count": store.feedback_count(window, days.start, days.end)},
    }
