"""Sites, windows in sites, devices assigned to windows, the clerk roster."""
from __future__ import annotations

from .base import StoreBase


class RegistryQueries(StoreBase):
    pass
