"""参评率, the participation rate of the national good/bad review system: ratings per served customer.

Served customers come from the window's business or queueing system (`POST /api/v1/windows/{w}/served`) and
from invites for a case number. Without any served customer known the rate is undefined (None). More ratings
than served customers (a rate above 100%) cannot happen honestly: it is flagged (`over`), as misuse to look at.
"""
from __future__ import annotations


def participation(ratings: int, served: int) -> dict:
    """{"served", "ratings", "rate" (3 decimals, None when nothing served is known), "over" (rate above 100%)}."""
    return {"served": served, "ratings": ratings, "rate": round(ratings / served, 3) if served else None,
            "over": bool(served) and ratings > served}
