"""What the configs sent to kiosks are made of, and which were sent."""
from __future__ import annotations

from .base import StoreBase


class KioskConfigQueries(StoreBase):
    pass
