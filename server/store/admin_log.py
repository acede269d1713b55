"""The admins' audit log: what an admin changed that has no history of its own elsewhere (cases and appeals keep
theirs), e.g. a window removed or merged into another. Written in the caller's transaction."""
from __future__ import annotations

import json

from server.store.base import StoreBase


class AdminLogQueries(StoreBase):
    def log_admin(self, at: int, user: str, action: str, details: dict) -> None:
        self.db.execute("INSERT INTO admin_log (at, user, action, details) VALUES (?, ?, ?, ?)",
                        (at, user, action, json.dumps(details, ensure_ascii=False, sort_keys=True)))

    def admin_log(self, actions: tuple[str, ...] | None = None, limit: int = 50) -> list[dict]:
        """The newest entries first (of `actions` when given), each with its details parsed."""
        sql, params = "SELECT id, at, user, action, details FROM admin_log", []
        if actions:
            sql += " WHERE action IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(actions)))
        rows = self.db.query(sql + " ORDER BY at DESC, id DESC LIMIT ?", [*params, limit])
        return [{**row, "details": json.loads(row["details"])} for row in rows]
