"""The one place that speaks SQL, one module per subject; `Store` is all of them over one connection."""
from __future__ import annotations

from .accounts import AccountQueries
from .admin_log import AdminLogQueries
from .alerts import AlertQueries
from .appeals import AppealQueries
from .cases import CaseQueries
from .ingest import IngestQueries, Reject, StoredEvent
from .invites import InviteQueries
from .kiosk_config import KioskConfigQueries
from .maintenance import MaintenanceQueries
from .provisioning import ProvisionQueries
from .reason_labels import ReasonLabelQueries
from .registry import RegistryQueries
from .report_runs import ReportRunQueries
from .reports import ReportQueries
from .settings import SettingsQueries
from .window_removal import WindowRemovalQueries


class Store(IngestQueries, ReportQueries, AccountQueries, RegistryQueries, KioskConfigQueries, SettingsQueries,
            CaseQueries, AppealQueries, AlertQueries, InviteQueries, ReportRunQueries,
            MaintenanceQueries, ProvisionQueries, AdminLogQueries, WindowRemovalQueries, ReasonLabelQueries):
    pass


__all__ = ["Store", "StoredEvent", "Reject"]
