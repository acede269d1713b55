"""The one place that speaks SQL, one module per subject; `Store` is all of them over one connection."""
from __future__ import annotations

from server.store.accounts import AccountQueries
from server.store.admin_log import AdminLogQueries
from server.store.alerts import AlertQueries
from server.store.appeals import AppealQueries
from server.store.cases import CaseQueries
from server.store.ingest import IngestQueries, Reject, StoredEvent
from server.store.invites import InviteQueries
from server.store.kiosk_config import KioskConfigQueries
from server.store.maintenance import MaintenanceQueries
from server.store.provisioning import ProvisionQueries
from server.store.reason_labels import ReasonLabelQueries
from server.store.registry import RegistryQueries
from server.store.report_runs import ReportRunQueries
from server.store.reports import ReportQueries
from server.store.settings import SettingsQueries
from server.store.window_removal import WindowRemovalQueries


class Store(IngestQueries, ReportQueries, AccountQueries, RegistryQueries, KioskConfigQueries, SettingsQueries,
            CaseQueries, AppealQueries, AlertQueries, InviteQueries, ReportRunQueries,
            MaintenanceQueries, ProvisionQueries, AdminLogQueries, WindowRemovalQueries, ReasonLabelQueries):
    pass


__all__ = ["Store", "StoredEvent", "Reject"]
