"""Alert rules, the alerts they raised, where alerts go and how each delivery went; and the reads the rules
are evaluated from (recent ratings, open absences, windows' states, offline kiosks, gaps in streams)."""
from __future__ import annotations

import json

from server.store.base import StoreBase, marks
from server.store.registry import DEVICE_WINDOW


class AlertQueries(StoreBase):
    # ------------------------------------------------------------ rules
    def alert_rules(self, enabled_only: bool = False) -> list[dict]:
        """Every rule with its params decoded, site-wide ones (site NULL) first."""
        sql = "SELECT id, site, kind, params, enabled FROM alert_rules"
        if enabled_only:
            sql += " WHERE enabled = 1"
        rows = list(self.db.query(sql + " ORDER BY site IS NOT NULL, site, kind, id"))
        for row in rows:
            row["params"] = json.loads(row["params"] or "{}")
        return rows

    def alert_rule(self, rule_id: int) -> dict | None:
        row = next(iter(self.db.query("SELECT * FROM alert_rules WHERE id = ?", [rule_id])), None)
        if row:
            row["params"] = json.loads(row["params"] or "{}")
        return row

    def create_alert_rule(self, site: str | None, kind: str, params: dict, enabled: bool = True) -> int:
        return self.db.execute("INSERT INTO alert_rules (site, kind, params, enabled) VALUES (?, ?, ?, ?)",
                               (site, kind, json.dumps(params), int(enabled))).lastrowid

    def update_alert_rule(self, rule_id: int, params: dict, enabled: bool) -> bool:
        return self.db.execute("UPDATE alert_rules SET params = ?, enabled = ? WHERE id = ?",
                               (json.dumps(params), int(enabled), rule_id)).rowcount == 1

    def delete_alert_rule(self, rule_id: int) -> bool:
        """The alerts it raised stay (their rule_id then names no rule)."""
        return self.db.execute("DELETE FROM alert_rules WHERE id = ?", (rule_id,)).rowcount == 1

    # ------------------------------------------------------------ targets
    def alert_targets(self) -> list[dict]:
        return list(self.db.query("SELECT id, site, kind, address, enabled FROM alert_targets "
                                  "ORDER BY site IS NOT NULL, site, kind, id"))

    def alert_target(self, target_id: int) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM alert_targets WHERE id = ?", [target_id])), None)

    def create_alert_target(self, site: str | None, kind: str, address: str, enabled: bool = True) -> int:
        return self.db.execute("INSERT INTO alert_targets (site, kind, address, enabled) VALUES (?, ?, ?, ?)",
                               (site, kind, address, int(enabled))).lastrowid

    def set_alert_target_enabled(self, target_id: int, enabled: bool) -> bool:
        return self.db.execute("UPDATE alert_targets SET enabled = ? WHERE id = ?",
                               (int(enabled), target_id)).rowcount == 1

    def delete_alert_target(self, target_id: int) -> bool:
        """The target and its deliveries' history."""
        with self.writing():
            self.db.execute("DELETE FROM deliveries WHERE target_id = ?", (target_id,))
            return self.db.execute("DELETE FROM alert_targets WHERE id = ?", (target_id,)).rowcount == 1

    # ------------------------------------------------------------ alerts
    def latest_alerts(self, keys: list[str]) -> dict[str, dict]:
        """The newest alert of each key (by last_at), for merging and for not counting one condition twice."""
        out: dict[str, dict] = {}
        for key in keys:
            row = next(iter(self.db.query(
                "SELECT id, key, first_at, last_at, count, acked_at FROM alerts WHERE key = ? "
                "ORDER BY last_at DESC, id DESC LIMIT 1", [key])), None)
            if row:
                out[key] = row
        return out

    def last_fired(self, keys: list[str]) -> dict[str, int]:
        """key -> the newest last_at of the alerts with that key, for those of `keys` that have any: one look at
        the end of each key's stretch of the index, not a read of every alert ever raised."""
        return dict(self.db.execute(
            "SELECT value, (SELECT max(last_at) FROM alerts WHERE key = value) AS newest FROM json_each(?) "
            "WHERE newest IS NOT NULL", (json.dumps(keys),)).fetchall())

    def insert_alert(self, rule_id: int | None, kind: str, site: str | None, window: str | None,
                     device: str | None, key: str, message: str, now: int, text: str | None = None) -> int:
        """`message` in Chinese; `text` the same as a translatable template and values (server/followup/alerts.py Text)."""
        return self.db.execute(
            "INSERT INTO alerts (rule_id, kind, site, window, device, key, message, text, first_at, last_at, count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (rule_id, kind, site, window, device, key, message, text, now, now)).lastrowid

    def merge_alert(self, alert_id: int, message: str, now: int, text: str | None = None) -> None:
        """The same condition again: counted into the alert, which is open again if it had been acknowledged."""
        self.db.execute("UPDATE alerts SET count = count + 1, last_at = ?, message = ?, text = ?, acked_at = NULL, "
                        "acked_by = NULL WHERE id = ?", (now, message, text, alert_id))

    def ack_alert(self, alert_id: int, user: str, now: int) -> bool:
        """False when there is no such alert or it was acknowledged already."""
        return self.db.execute("UPDATE alerts SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL",
                               (now, user, alert_id)).rowcount == 1

    def alert(self, alert_id: int) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM alerts WHERE id = ?", [alert_id])), None)

    def alert_list(self, sites: list[str] | None = None, limit: int = 200) -> list[dict]:
        """Open alerts first (newest first), then acknowledged ones; only those of `sites` when given."""
        sql = ("SELECT a.*, w.title FROM alerts a LEFT JOIN windows w ON w.window = a.window")
        params: list = []
        if sites is not None:
            sql += f" WHERE a.site IN ({marks(len(sites))})"
            params = list(sites)
        sql += " ORDER BY a.acked_at IS NOT NULL, a.last_at DESC, a.id DESC LIMIT ?"
        return list(self.db.query(sql, [*params, limit]))

    def open_alert_count(self, sites: list[str] | None = None) -> int:
        sql = "SELECT count(*) FROM alerts WHERE acked_at IS NULL"
        params: list = []
        if sites is not None:
            sql += f" AND site IN ({marks(len(sites))})"
            params = list(sites)
        return self.db.execute(sql, params).fetchone()[0]

    # ------------------------------------------------------------ deliveries
    def enqueue_deliveries(self, alert_id: int, site: str | None, now: int) -> int:
        """One pending delivery to each enabled target of the alert's site or of every site; how many."""
        return self.db.execute(
            "INSERT INTO deliveries (alert_id, target_id, next_at) SELECT ?, id, ? FROM alert_targets "
            "WHERE enabled = 1 AND (site IS NULL OR site = ?)", (alert_id, now, site)).rowcount

    def last_notice(self, alert_id: int) -> tuple[bool, int | None]:
        """(a delivery of the alert is still pending, when it was last sent or tried)."""
        pending, last = self.db.execute(
            "SELECT coalesce(max(status = 'pending'), 0), max(coalesce(sent_at, next_at)) FROM deliveries "
            "WHERE alert_id = ?", (alert_id,)).fetchone()
        return bool(pending), last

    def deliveries_of(self, alert_ids: list[int]) -> dict[int, list[dict]]:
        out: dict[int, list[dict]] = {a: [] for a in alert_ids}
        if not alert_ids:
            return out
        for row in self.db.query(
                "SELECT d.id, d.alert_id, d.status, d.attempts, d.next_at, d.last_error, d.sent_at, t.kind, "
                f"t.address FROM deliveries d JOIN alert_targets t ON t.id = d.target_id "
                f"WHERE d.alert_id IN ({marks(len(alert_ids))}) ORDER BY d.id", alert_ids):
            out[row["alert_id"]].append(row)
        return out

    def due_deliveries(self, now: int, limit: int = 50) -> list[dict]:
        """Pending deliveries whose time has come, oldest first, with their alert and target."""
        return list(self.db.query(
            "SELECT d.id, d.alert_id, d.target_id, d.attempts, d.next_at, t.kind AS target_kind, t.address, "
            "t.enabled AS target_enabled, a.kind, a.site, a.window, a.device, a.message, a.first_at, a.last_at, "
            "a.count, a.acked_at, w.title FROM deliveries d JOIN alert_targets t ON t.id = d.target_id "
            "JOIN alerts a ON a.id = d.alert_id LEFT JOIN windows w ON w.window = a.window "
            "WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?", [now, limit]))

    def sent_times(self, target_id: int, since: int) -> list[int]:
        """When the target was sent to after `since`, oldest first (for its rate limit)."""
        return [r[0] for r in self.db.execute(
            "SELECT sent_at FROM deliveries WHERE target_id = ? AND status = 'sent' AND sent_at > ? "
            "ORDER BY sent_at", (target_id, since)).fetchall()]

    def delivery_sent(self, delivery_id: int, now: int) -> None:
        self.db.execute("UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
                        "last_error = NULL WHERE id = ?", (now, delivery_id))

    def delivery_failed(self, delivery_id: int, error: str, next_at: int | None) -> None:
        """One more failed attempt: tried again at `next_at`, or given up (status failed) when it is None."""
        self.db.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_at = coalesce(?, next_at), "
                        "status = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END WHERE id = ?",
                        (error[:500], next_at, next_at, delivery_id))

    def delivery_postponed(self, delivery_id: int, next_at: int) -> None:
        """Not tried now (its target's rate limit): no attempt counted."""
        self.db.execute("UPDATE deliveries SET next_at = ? WHERE id = ?", (next_at, delivery_id))

    def target_postponed(self, target_id: int, next_at: int) -> int:
        """The target's pending deliveries due before `next_at` wait until then (it is failing): no attempt
        counted; how many."""
        return self.db.execute("UPDATE deliveries SET next_at = ? WHERE target_id = ? AND status = 'pending' "
                               "AND next_at < ?", (next_at, target_id, next_at)).rowcount

    # ------------------------------------------------------------ what the rules read
    def device_place(self, device: str) -> tuple[str | None, str | None, str | None]:
        """(window, its title, its site) of a device's window, as the registry shows it; Nones for none."""
        row = self.db.execute(f"SELECT {DEVICE_WINDOW}, w.title, w.site FROM devices d LEFT JOIN windows w "
                              f"ON w.window = {DEVICE_WINDOW} WHERE d.device = ?", (device,)).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def window_place(self, window: str) -> tuple[str | None, str | None]:
        """(title, site) of a window; Nones for none."""
        row = self.db.execute("SELECT title, site FROM windows WHERE window = ?", (window,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def window_sites_all(self) -> dict[str, str | None]:
        return dict(self.db.execute("SELECT window, site FROM windows").fetchall())

    def ratings_between(self, start: int, end: int) -> list[tuple[str, int, int, int]]:
        """(window, at, score, scale) of the ratings with start <= at <= end, read window by window through the
        figures' index (CROSS JOIN keeps `windows` the outer loop). Ratings have no index on the time alone: asked
        the other way round, this read every rating ever (1.3 s at a city's 30 million), and the alerts ask every
        10 s. Every rating's window is in `windows`: one is removed only while nothing is stored under it."""
        return self.db.execute("SELECT r.window, r.at, r.score, r.scale FROM windows w CROSS JOIN ratings r "
                               "ON r.window = w.window WHERE r.at >= ? AND r.at <= ? ORDER BY r.at",
                               (start, end)).fetchall()

    def open_absences(self) -> list[tuple[str, str | None, int]]:
        """(window, site, start) of every window away now."""
        return self.db.execute(
            "SELECT w.window, w.site, a.start_at FROM windows w JOIN absences a ON a.id = w.open_absence "
            "ORDER BY w.window").fetchall()

    def window_states(self) -> list[dict]:
        """Every window with a kiosk: its site, whether that kiosk is online and since when it was last heard,
        its presence (and since when it is away) and the clerk signed in."""
        return list(self.db.query(
            "SELECT w.window, w.site, w.device, coalesce(d.online, 0) AS online, d.last_seen, w.presence, w.staff, "
            "a.start_at AS away_since FROM windows w JOIN devices d ON d.device = w.device "
            "LEFT JOIN absences a ON a.id = w.open_absence ORDER BY w.window"))

    def offline_kiosks(self) -> list[tuple[str, str | None, str | None, int]]:
        """(device, window, site, last heard) of every window's kiosk that is offline now."""
        return self.db.execute(
            f"SELECT d.device, {DEVICE_WINDOW} AS win, w.site, d.last_seen FROM devices d "
            f"LEFT JOIN windows w ON w.window = {DEVICE_WINDOW} WHERE d.online = 0 AND (d.confirmed = 1 OR "
            "EXISTS (SELECT 1 FROM windows n WHERE n.device = d.device)) ORDER BY d.device").fetchall()

    def stream_gaps(self, declared_since: int) -> list[tuple[str, str | None, str | None, str, int, bool, str]]:
        """(device, window, site, stream, since, lost, seqs): streams waiting on missing events now (since when),
        and gaps declared lost at or after `declared_since` (lost = True, since = when declared)."""
        sql = (f"SELECT x.device, {DEVICE_WINDOW} AS win, w.site, x.stream, x.since, x.lost, x.seqs FROM ("
               "SELECT s.device, s.stream, s.gap_since AS since, 0 AS lost, (s.upto_seq + 1) || '' AS seqs "
               "FROM streams s WHERE s.gap_since IS NOT NULL UNION ALL "
               "SELECT g.device, g.stream, g.declared_at, 1, g.from_seq || '-' || g.to_seq FROM gaps g "
               "WHERE g.declared_at >= ?) x LEFT JOIN devices d ON d.device = x.device "
               f"LEFT JOIN windows w ON w.window = {DEVICE_WINDOW} ORDER BY x.device, x.since")
        return [(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in self.db.execute(sql, (declared_since,))]
