"""The one place that speaks SQL, one module per subject; `Store` is all of them over one connection."""
from __future__ import annotations

from .accounts import AccountQueries
from .ingest import IngestQueries, Reject, StoredEvent
from .kiosk_config import KioskConfigQueries
from .registry import RegistryQueries
from .reports import ReportQueries
from .settings import SettingsQueries


class Store(IngestQueries, ReportQueries, AccountQueries, RegistryQueries, KioskConfigQueries, SettingsQueries):
    pass


__all__ = ["Store", "StoredEvent", "Reject"]
