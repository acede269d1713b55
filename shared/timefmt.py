"""RFC 3339 timestamps as the contract writes them: milliseconds and an offset."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})\Z"
)


def format_ts(moment: datetime) -> str:
    """`2026-11-23T09:15:02.481+08:00`; a naive datetime is refused."""
    if moment.tzinfo is None:
        raise ValueError("timestamp needs a time zone")
    return moment.isoformat(timespec="milliseconds")


def parse_ts(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries an offset; ValueError otherwise."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError("not an RFC 3339 timestamp with offset")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


DAY_MS = 86_400_000  # one day of epoch milliseconds (a calendar day in a zone may differ: see server/domain/periods.py)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact: no float rounding)."""
    return (moment - _EPOCH) // _MS


def from_ms(ms: int, tz=UTC) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz)


_LOCAL_FORMATS = {"second": "%Y-%m-%d %H:%M:%S", "minute": "%Y-%m-%d %H:%M", "day_minute": "%m-%d %H:%M",
                  "clock": "%H:%M:%S", "input": "%Y-%m-%dT%H:%M", "date": "%Y-%m-%d"}


def local_text(ms: int | None, tz, precision: str = "second", none: str = "") -> str:
    """An epoch-ms moment as people in the hall read it: its wall-clock time in `tz` (the hall's zone), 24-hour,
    `2026-11-23 09:15:02` ("second"), `2026-11-23 09:15` ("minute"), `11-23 09:15` ("day_minute") or
    `09:15:02` ("clock"), `2026-11-23` ("date") or `2026-11-23T09:15` ("input": an HTML datetime-local field); `none` for no moment.
    The one formatter of local times for pages, exports and the CLI; `tz` None is this machine's zone."""
    if ms is None:
        return none
    return from_ms(ms, tz).strftime(_LOCAL_FORMATS[precision])


def parse_local(text: str, tz, precision: str = "input") -> int:
    """The epoch-ms moment of a wall-clock time written as `local_text` writes it; ValueError if it is not one."""
    return to_ms(datetime.strptime(text, _LOCAL_FORMATS[precision]).replace(tzinfo=tz))
