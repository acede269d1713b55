"""Bad-review follow-up cases, their audit trail, and the working-day calendar's corrections."""
from __future__ import annotations

from .base import StoreBase


class CaseQueries(StoreBase):
    pass
