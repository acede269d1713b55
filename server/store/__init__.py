"""The one place that speaks SQL: a repository per subject (one module each), composed by `Store` over one
connection: `store.cases.case_log(case_id)`, `store.registry.windows()`.
Repositories that need another get it from `Store`."""
from __future__ import annotations

from sqlite_utils import Database

from server.store.accounts import AccountQueries
from server.store.admin_log import AdminLogQueries
from server.store.alerts import AlertQueries
from server.store.appeals import AppealQueries
from server.store.audit import AuditQueries
from server.store.cases import CaseQueries
from server.store.ingest import IngestQueries, Reject, StoredEvent
from server.store.invites import InviteQueries
from server.store.keys import KeyQueries, Pin
from server.store.kiosk_config import KioskConfigQueries
from server.store.maintenance import MaintenanceQueries
from server.store.misuse import MisuseQueries
from server.store.provisioning import ProvisionQueries
from server.store.reason_labels import ReasonLabelQueries
from server.store.registry import RegistryQueries
from server.store.report_runs import ReportRunQueries
from server.store.reports import ReportQueries
from server.store.served import Served, ServedQueries
from server.store.settings import SettingsQueries
from server.store.window_removal import WindowRemovalQueries


class Store:
    """Every repository over the connection `db` (sqlite-utils); `db.atomic()` spans several of them."""

    def __init__(self, db: Database):
        self.db = db
        self.settings = SettingsQueries(db)
        self.served = ServedQueries(db)
        self.admin_log = AdminLogQueries(db)
        self.ingest = IngestQueries(db)
        self.accounts = AccountQueries(db)
        self.alerts = AlertQueries(db)
        self.appeals = AppealQueries(db)
        self.audit = AuditQueries(db)
        self.cases = CaseQueries(db)
        self.invites = InviteQueries(db)
        self.keys = KeyQueries(db)
        self.kiosk_config = KioskConfigQueries(db)
        self.maintenance = MaintenanceQueries(db, self.settings)
        self.misuse = MisuseQueries(db, self.settings)
        self.provisioning = ProvisionQueries(db, self.ingest)
        self.reason_labels = ReasonLabelQueries(db)
        self.registry = RegistryQueries(db, self.ingest)
        self.report_runs = ReportRunQueries(db)
        self.reports = ReportQueries(db)
        self.window_removal = WindowRemovalQueries(db, self.admin_log)


__all__ = ["Store", "StoredEvent", "Reject", "Pin", "Served"]
