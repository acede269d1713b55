"""What the registry accepts, for the web pages and the command line alike: a site's id, and how long a site's
name, a window's title and a clerk's name may be. (A window's id is the wire contract's: shared/contract.py.)"""
from __future__ import annotations

import re

SITE_PATTERN = re.compile(r"^[a-z0-9-]{1,32}\Z")
MAX_NAME = 64   # a site's name
MAX_TITLE = 32  # a window's title on the kiosk and the pages; a clerk's name
