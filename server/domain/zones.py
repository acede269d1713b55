"""The halls' time zones: the one a new site, the server and the command line take when none is given, the
ones the site form offers first, and the date of today in each."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"  # mainland China's one zone
COMMON_ZONES = (DEFAULT_ZONE, "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "UTC")


def todays(now: datetime, zones: Iterable[str]) -> dict[str, str]:
    """Today's date (YYYY-MM-DD) in each of `zones` at `now`: what a case's deadline is compared with."""
    return {zone: now.astimezone(ZoneInfo(zone)).date().isoformat() for zone in zones}
