"""`mqtt://HOST:PORT` (or `mqtts://` for TLS) as both sides write it, and the files a TLS client uses."""
from __future__ import annotations

import os
from collections.abc import Mapping
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
    """`mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]`; ValueError saying what is wrong and how to write it."""
    if url and "://" not in url:
        raise ValueError(f"broker URL {url!r} has no scheme: write mqtt://{url} (or mqtts://{url} for TLS)")
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
        raise ValueError(f"broker URL {url!r} has a bad port: give a number from 1 to 65535")
    return BrokerAddress(parts.hostname, port, tls)


ENV_TLS = {"ca_file": "CEVAL_MQTT_CA_FILE", "cert_file": "CEVAL_MQTT_CERT_FILE", "key_file": "CEVAL_MQTT_KEY_FILE"}


@dataclass(frozen=True)
class TlsFiles:
    """What an `mqtts://` client trusts and shows: the CA that signed the broker (None: the system's CAs)
    and, for a listener that requires one, its own certificate and key (deploy/tls/make-certs.sh)."""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs its key: give both cert_file and key_file, or neither")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not os.access(path, os.R_OK):
                reason = "cannot be read" if os.path.exists(path) else "does not exist"
                raise ValueError(f"TLS {name} {path} {reason}")

    def tls_set_args(self) -> dict[str, str | None]:
        """Keyword arguments of paho's `Client.tls_set()`."""
        return {"ca_certs": self.ca_file, "certfile": self.cert_file, "keyfile": self.key_file}


def tls_from_env(env: Mapping[str, str]) -> TlsFiles | None:
    """TlsFiles from CEVAL_MQTT_CA_FILE / CEVAL_MQTT_CERT_FILE / CEVAL_MQTT_KEY_FILE; None when none is set.
    Raises ValueError, naming the variables, when they are incomplete or a file cannot be read."""
    files = {name: env.get(var) or None for name, var in ENV_TLS.items()}
    if not any(files.values()):
        return None
    try:
        return TlsFiles(**files)
    except ValueError as exc:
        raise ValueError(f"{exc} ({', '.join(ENV_TLS.values())})") from None
