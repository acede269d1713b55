"""The names of the kiosk's screens, shared by the core (device/core.py), the layout (kiosk.kv) and the tools
that walk the screens. They stay on the kiosk: no message carries them. The away screen's name is not the away
sign's presence state (shared/contract.py PRESENCE_STATES), although both are "away".
"""
from __future__ import annotations

READY = "ready"      # the rating buttons
RATED = "rated"      # the reason question after a low score
THANKS = "thanks"    # the thank-you
COMMENT = "comment"  # the opinion book: quick phrases and the QR code
AWAY = "away"        # the away sign is out
IDLE = "idle"        # invite mode's resting screen: no buttons until the clerk's 请评价
SIGNIN = "signin"    # the clerk's sign-in

AT_REST = (IDLE, READY)  # the kiosk is not busy: no question, thank-you, comment or sign-in under way
