"""Runs of the scheduled daily and monthly reports, with the files they made."""
from __future__ import annotations

from .base import StoreBase


class ReportRunQueries(StoreBase):
    pass
