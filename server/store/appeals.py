"""Appeals against ratings, and the ratings an upheld appeal took out of the statistics."""
from __future__ import annotations

from .base import StoreBase


class AppealQueries(StoreBase):
    pass
