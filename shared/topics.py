"""MQTT topics of contract v1: `ceval/v1/{device}/{kind}`."""
from __future__ import annotations

import re

from .quote import quoted

PREFIX = "ceval/v1"
KINDS = ("event", "status", "ack", "config", "invite")  # invite: an extension of v1, server -> kiosk
DEVICE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}\Z")


class TopicError(ValueError):
    """A topic outside the contract; `device` is set when the topic still names a valid one."""

    def __init__(self, reason: str, device: str | None = None):
        super().__init__(reason)
        self.device = device


def topic(device: str, kind: str) -> str:
    if kind not in KINDS:
        raise TopicError(f"unknown topic kind {quoted(kind)}")
    if not DEVICE_PATTERN.match(device):
        raise TopicError(f"bad device id {quoted(device)}")
    return f"{PREFIX}/{device}/{kind}"


def subscription(kind: str) -> str:
    """The wildcard that matches `kind` for every device."""
    return f"{PREFIX}/+/{kind}"


def parse_topic(name: str) -> tuple[str, str]:
    """Return (device, kind) of a contract topic, or raise TopicError."""
    parts = name.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != PREFIX:
        raise TopicError(f"topic {quoted(name, 80)} is outside the contract")
    device, kind = parts[2], parts[3]
    if not DEVICE_PATTERN.match(device):
        raise TopicError(f"topic {quoted(name, 80)} names a bad device id")
    if kind not in KINDS:
        raise TopicError(f"topic {quoted(name, 80)} has an unknown kind", device)
    return device, kind
