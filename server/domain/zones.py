"""The halls' time zones: the one a new site, the server and the command line take when none is given, and the
ones the site form offers first."""
from __future__ import annotations

DEFAULT_ZONE = "Asia/Shanghai"  # mainland China's one zone
COMMON_ZONES = (DEFAULT_ZONE, "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "UTC")
