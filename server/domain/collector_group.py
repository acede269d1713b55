"""Collectors that share the load: a group of MQTT 5 shared subscriptions (`$share/GROUP/...`).

The broker hands each kiosk message to one member of the group. Each member is a process of its own,
started by `ceval server`; member 1 also pushes the kiosks' configs and invites, the others only receive,
store and acknowledge. Each member keeps a session of its own, named after the
server's client id (and, on the shipped broker, which takes the user name for the client id, its broker
account): `ceval-collector`, `ceval-collector-2`, ... What a member received but had not acknowledged when
it died stays in its session and comes again when it is back; every member stores into the one database,
so what a stream's events are, which seqs are in and what the ack says come from there, not from the
member that happened to receive them.
"""
from __future__ import annotations

from shared.topics import subscription

GROUP = "ceval"
MAX_COLLECTORS = 8
# How long the broker keeps a member's session (and queues its share) while the member is away: as long as
# the shipped broker keeps a lone collector's (`persistent_client_expiration 14d`). A member no longer run
# is retired when the server starts (its session ended), so its share is not held for it.
SESSION_EXPIRY_SECONDS = 14 * 24 * 3600
KINDS = ("event", "status")  # what a kiosk sends: the group shares these, nothing else


def check_size(count: int) -> int:
    """A group's size, 1 to MAX_COLLECTORS; else ValueError."""
    if not 1 <= count <= MAX_COLLECTORS:
        raise ValueError(f"{count!r} is not a number of collectors from 1 to {MAX_COLLECTORS}")
    return count


def member_name(base: str, member: int) -> str:
    """The client id (or broker user name) of member `member` (1..MAX_COLLECTORS) of the group of `base`."""
    if not 1 <= member <= MAX_COLLECTORS:
        raise ValueError(f"collector member {member} is not 1 to {MAX_COLLECTORS}")
    return base if member == 1 else f"{base}-{member}"


def shared_filters(group: str = GROUP) -> list[str]:
    """The topic filters a member subscribes to: each kiosk message goes to one member of `group`."""
    return [f"$share/{group}/{subscription(kind)}" for kind in KINDS]


def quota_share(limit: int, members: int) -> int:
    """A member's part of a device's event quota per minute: the broker spreads a device's messages over the
    members in turn, so together they hold the device to about `limit` (never less than 1 each)."""
    return max(1, -(-limit // members))
