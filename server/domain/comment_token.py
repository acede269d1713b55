"""The short-lived signed token in a kiosk's comment link: it binds a phone's comment to one
window without a log-in. No Flask, no MQTT: the collector makes tokens, the phone form checks them.

Signed with the server's secret (itsdangerous, salt "comment"); the payload is the window id
and the signing time comes from the caller's clock, so tests can let a token expire.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

SALT = "comment"
TOKEN_LIFETIME_SECONDS = 2 * 3600  # a kiosk gets a fresh one after half of it


def token_lifetime(config: Mapping) -> float:
    """Seconds a token is good for: the server's COMMENT_TOKEN_SECONDS setting, else TOKEN_LIFETIME_SECONDS."""
    return float(config.get("COMMENT_TOKEN_SECONDS", TOKEN_LIFETIME_SECONDS))


class BadToken(ValueError):
    """A token that is not ours, names another window, or has expired (`expired` tells which)."""

    def __init__(self, reason: str, expired: bool = False):
        super().__init__(reason)
        self.expired = expired


def _serializer(secret: str, now: datetime) -> URLSafeTimedSerializer:
    seconds = int(now.timestamp())

    class _SignerAt(TimestampSigner):
        def get_timestamp(self) -> int:
            return seconds

    return URLSafeTimedSerializer(secret, salt=SALT, signer=_SignerAt)


def make_token(secret: str, window: str, now: datetime) -> str:
    return _serializer(secret, now).dumps(window)


def check_token(secret: str, token: str, window: str, now: datetime,
                lifetime: float = TOKEN_LIFETIME_SECONDS) -> None:
    """Raise BadToken unless `token` was made for `window` less than `lifetime` seconds ago."""
    try:
        named = _serializer(secret, now).loads(token, max_age=lifetime)
    except SignatureExpired:
        raise BadToken("the token has expired", expired=True) from None
    except BadData:
        raise BadToken("the token is not valid") from None
    if named != window:
        raise BadToken(f"the token is for another window ({named!r})")
