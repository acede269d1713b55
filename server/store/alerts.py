"""Alert rules, the alerts they raised, where alerts go and how each delivery went."""
from __future__ import annotations

from .base import StoreBase


class AlertQueries(StoreBase):
    pass
