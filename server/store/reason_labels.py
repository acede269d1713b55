"""The labels of every reason any window was ever configured with (table reason_labels, kept by a trigger on
windows.config: server/store/migrations.py m017)."""
from __future__ import annotations

from server.store.base import StoreBase


class ReasonLabelQueries(StoreBase):
    def reason_labels(self) -> dict[str, tuple[str, str | None]]:
        """code -> (label, English label or None)."""
        return {code: (label, label_en) for code, label, label_en in
                self.db.execute("SELECT code, label, label_en FROM reason_labels").fetchall()}
