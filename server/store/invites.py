"""Invites of a rating for a case number, waiting for the collector to send them to a kiosk."""
from __future__ import annotations

from .base import StoreBase


class InviteQueries(StoreBase):
    pass
