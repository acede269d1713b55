"""What a rejection's reason may quote of a message: its repr, cut short."""
from __future__ import annotations

from typing import Any

QUOTE_CHARS = 40


def quoted(value: Any, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` cut to `limit` characters, so a reason stays short whatever a message held."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long for str(), a structure nested too deep
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "…"
