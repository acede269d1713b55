"""`mqtt://HOST:PORT` (or `mqtts://` for TLS) as both sides write it."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker URL {url!r} is not mqtt://HOST:PORT or mqtts://HOST:PORT")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is None:
        port = 8883 if tls else 1883
    if not 1 <= port <= 65535:
        raise ValueError(f"broker URL {url!r} has a bad port")
    return BrokerAddress(parts.hostname, port, tls)
