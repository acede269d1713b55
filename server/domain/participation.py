"""参评率, the participation rate of the national good/bad review system: ratings per served customer, of a window
or a clerk over a period.

Served customers come from the window's business or queueing system (`POST /api/v1/windows/{w}/served`) and
from invites for a case number, each case number once per window (server/store/served.py). Without any served
customer known the rate is undefined (None). More ratings than served customers (a rate above 100%) cannot happen
honestly: it is flagged (`over`), for a manager to look at.

A served customer is the clerk's who was on duty at the window then: the window's last sign-in or sign-out, or
else its last rating, within ON_DUTY_MS before; served customers of no known clerk count for the window only.
"""
from __future__ import annotations

from shared.timefmt import DAY_MS

ON_DUTY_MS = DAY_MS // 2  # a sign-in or rating older than this (yesterday's, overnight) names no clerk on duty


def participation(ratings: int, served: int) -> dict:
    """{"served", "ratings", "rate" (3 decimals, None when nothing served is known), "over" (rate above 100%)}."""
    return {"served": served, "ratings": ratings, "rate": round(ratings / served, 3) if served else None,
            "over": served > 0 and ratings > served}
