"""What an audit re-checks: stored events with their chain fields, the rows figures are made of, and what the
server itself recorded about a stream (its marks, declared gaps, rejections, exclusions)."""
from __future__ import annotations

from collections.abc import Sequence

from server.store.base import StoreBase, chunks, marks

EVENT_COLUMNS = ("id", "device", "stream", "seq", "type", "window", "staff", "ts", "at", "received_at", "payload",
                 "prev", "digest")
RATING_COLUMNS = ("window", "staff", "score", "scale", "reasons", "case_no")


class AuditQueries(StoreBase):
    def streams_in(self, window: str | None, start: int | None, end: int | None) -> list[tuple[str, str, int, int]]:
        """(stream, device, lowest seq, highest seq) of the streams with events of `window` (any: None) whose
        time `at` is in [start, end), by device and stream."""
        where, params = self._range(window, start, end)
        return self.db.execute(f"SELECT stream, device, min(seq), max(seq) FROM events WHERE {where} "
                               "GROUP BY stream, device ORDER BY device, stream", params).fetchall()

    @staticmethod
    def _range(window: str | None, start: int | None, end: int | None, prefix: str = "") -> tuple[str, list]:
        where, params = ["1 = 1"], []
        if window is not None:
            where.append(f"{prefix}window = ?")
            params.append(window)
        if start is not None:
            where.append(f"{prefix}at >= ?")
            params.append(start)
        if end is not None:
            where.append(f"{prefix}at < ?")
            params.append(end)
        return " AND ".join(where), params

    def stream_events(self, stream: str, low: int, high: int) -> list[dict]:
        """The stored events of `stream` with seq in [low, high], by seq."""
        return [dict(zip(EVENT_COLUMNS, r)) for r in self.db.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE stream = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (stream, low, high))]

    def stream_marks(self, stream: str) -> tuple[int, int]:
        """(upto_seq, max_seq): what the server acknowledged contiguously, and the highest seq it handled."""
        row = self.db.execute("SELECT upto_seq, max_seq FROM streams WHERE stream = ?", (stream,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    def gaps(self, stream: str) -> list[tuple[int, int, int]]:
        """(from_seq, to_seq, declared_at) of the ranges the server declared lost in transit."""
        return self.db.execute("SELECT from_seq, to_seq, declared_at FROM gaps WHERE stream = ? ORDER BY from_seq",
                               (stream,)).fetchall()

    def rejections(self, stream: str) -> dict[int, tuple[int, str]]:
        """seq -> (received_at, reason) of the stream's rejected messages still kept."""
        return {seq: (at, reason) for seq, at, reason in self.db.execute(
            "SELECT seq, received_at, reason FROM rejects WHERE stream = ? AND seq IS NOT NULL ORDER BY id",
            (stream,))}

    def ratings(self, ids: Sequence[str]) -> dict[str, dict]:
        """event id -> the ratings row figures count."""
        return self._rows("ratings e", ids)

    def excluded(self, ids: Sequence[str]) -> dict[str, dict]:
        """event id -> the row an upheld appeal took out of the figures, with who decided it, when and why."""
        return self._rows("excluded_ratings e LEFT JOIN appeals a ON a.id = e.appeal_id", ids,
                          ", e.appeal_id, a.decided_by, a.decided_at, a.reason")

    def _rows(self, source: str, ids: Sequence[str], more: str = "") -> dict[str, dict]:
        found: dict[str, dict] = {}
        for chunk in chunks(list(ids)):
            for row in self.db.query(f"SELECT e.event_id, {', '.join('e.' + c for c in RATING_COLUMNS)}{more} "
                                     f"FROM {source} WHERE e.event_id IN ({marks(len(chunk))})", chunk):
                found[row.pop("event_id")] = row
        return found

    def ratings_without_event(self, window: str | None, start: int | None, end: int | None) -> list[tuple]:
        """(event_id, window, at) of rating rows in the range that no stored event backs."""
        where, params = self._range(window, start, end, "r.")
        return self.db.execute(f"SELECT r.event_id, r.window, r.at FROM ratings r WHERE {where} AND NOT EXISTS "
                               "(SELECT 1 FROM events e WHERE e.id = r.event_id) ORDER BY r.at", params).fetchall()
