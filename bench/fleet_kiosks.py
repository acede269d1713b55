"""Simulated kiosks for bench/fleet.py: thousands of MQTT connections in one asyncio process.

Each simulated kiosk is what a real one is to the broker and the server (device/publisher.py, device/outbox.py):
its own MQTT 3.1.1 connection (client id and user name = device id, clean session, a retained `offline` status
as Last Will), subscribed to its ack, config and invite; events signed and chained with a key of its own
(shared/signing.py) in an outbox held until an ack covers them; at most WINDOW in flight, sent again after
`ack_timeout` without an ack that deleted some (doubling up to 300 s) and all again after a reconnect (backoff
0.2 s doubling to 5 s). Only what a kiosk has no use for here is left out: no screen, no SQLite outbox (the outbox is a dict: this
measures the server and the broker, not the kiosks' disks).

The MQTT codec is the few packets a kiosk needs, written here so that one process can hold a few thousand
connections: paho's client costs a thread or a loop per connection.

Driven by bench/fleet.py over stdin/stdout, one JSON object per line each way:

    {"cmd": "connect"}                 -> {"online": s, "configured": s}   (seconds from the command)
    {"cmd": "press", "rate": r, "seconds": s}  -> {"pressed": n}  r presses/s over this process's kiosks
    {"cmd": "queue", "per_kiosk": n, "span": s} -> {"queued": n}  n events each, timed over the last s seconds
    {"cmd": "offline"} / {"cmd": "online"}     -> {"ok": true}    network gone / back (kiosks reconnect)
    {"cmd": "settled", "timeout": s}   -> {"settled": s | null, "online": k}  until all online, outboxes empty
    {"cmd": "stats"}                   -> {"latencies_ms": [...], "sent": n, "resent": n, ...}  (and reset)
"""
from __future__ import annotations

import asyncio
import json
import random
import struct
import sys
import time
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.ids import new_event_id, new_stream_id
from device.signing_key import SigningKey
from shared import signing
from shared.contract import OFFLINE_STATUS, Event, Status
from shared.timefmt import format_ts
from shared.topics import topic

WINDOW = 500              # events in flight per kiosk (device/publisher.py's default)
ACK_TIMEOUT = 10.0        # seconds (device/publisher.py's default)
MAX_RESEND_AFTER = 300.0
KEEPALIVE = 30
CONNECTING_AT_ONCE = 200  # connects in progress at once per process: a storm, not a SYN flood of one instant

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = (
    0x10, 0x20, 0x30, 0x40, 0x82, 0x90, 0xC0, 0xD0, 0xE0)


def _string(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _length(len(body)) + body


def connect_packet(client_id: str, username: str, password: str, will_topic: str, will: bytes) -> bytes:
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02  # user, password, will retained at QoS 1, clean session
    body = (_string(b"MQTT") + bytes([4, flags]) + struct.pack("!H", KEEPALIVE) + _string(client_id.encode())
            + _string(will_topic.encode()) + _string(will) + _string(username.encode()) + _string(password.encode()))
    return packet(CONNECT, body)


def publish_packet(name: str, payload: bytes, mid: int, retain: bool = False, dup: bool = False) -> bytes:
    return packet(PUBLISH | 0x02 | (0x08 if dup else 0) | (0x01 if retain else 0),
                  _string(name.encode()) + struct.pack("!H", mid) + payload)


class Kiosk:
    def __init__(self, fleet: Fleet, device: str, window: str, password: str):
        self.fleet, self.device, self.window, self.password = fleet, device, window, password
        self.key = SigningKey(Ed25519PrivateKey.generate())
        self.stream = new_stream_id()
        self.seq = 0
        self.prev = signing.genesis(self.stream)
        self.outbox: OrderedDict[int, tuple[bytes, float]] = OrderedDict()  # seq -> (payload, pressed at)
        self.inflight: OrderedDict[int, float] = OrderedDict()  # seq -> sent at
        self.resend_after = ACK_TIMEOUT
        self.progress_at = float("-inf")  # when an ack last deleted events
        self.writer: asyncio.StreamWriter | None = None
        self.online = False
        self.configured = False
        self.mid = 0
        self.topics = {kind: topic(device, kind) for kind in ("event", "status", "ack", "config", "invite")}

    # ------------------------------------------------------------ the outbox
    def append(self, when: datetime, pressed: float) -> None:
        """A customer's press, signed and chained as device/outbox.py does, kept until acknowledged."""
        self.seq += 1
        score = random.choice((5, 5, 5, 4, 4, 3, 2, 1))
        event = Event(id=new_event_id(), stream=self.stream, seq=self.seq, prev=self.prev, ts=format_ts(when),
                      window=self.window, type="rating", score=score, scale=5,
                      reasons=("wait",) if score <= 2 and random.random() < 0.5 else ())
        content = event.to_dict()
        event = replace(event, sig=self.key.sign(content))
        self.prev = signing.link(self.prev, signing.digest(content))
        self.outbox[self.seq] = (event.to_json(), pressed)

    def ack(self, upto: int) -> None:
        now = time.monotonic()
        removed = False
        while self.outbox:
            seq = next(iter(self.outbox))
            if seq > upto:
                break
            _, (_, pressed) = self.outbox.popitem(last=False)
            self.inflight.pop(seq, None)
            self.fleet.latencies.append((now - pressed) * 1000)
            removed = True
        if removed:
            self.resend_after = ACK_TIMEOUT
            self.progress_at = now
            self.pump()

    def pump(self) -> None:
        """Send what the window has room for, oldest first; everything in flight again once it waited too long."""
        if not self.online:
            return
        now = time.monotonic()
        if self.inflight and now - max(next(iter(self.inflight.values())), self.progress_at) >= self.resend_after:
            self.resend_after = min(self.resend_after * 2, MAX_RESEND_AFTER)
            self.fleet.resent += len(self.inflight)
            self.inflight.clear()
        room = WINDOW - len(self.inflight)
        if room <= 0:
            return
        after = next(reversed(self.inflight)) if self.inflight else 0
        out = []
        for seq, (payload, _) in self.outbox.items():
            if seq <= after:
                continue
            if room == 0:
                break
            out.append(publish_packet(self.topics["event"], payload, self._mid()))
            self.inflight[seq] = now
            room -= 1
        if out:
            self.fleet.sent += len(out)
            self.writer.write(b"".join(out))

    def _mid(self) -> int:
        self.mid = self.mid % 65535 + 1
        return self.mid

    def status(self) -> bytes:
        return Status(online=True, ts=format_ts(datetime.now(UTC)), window=self.window, presence="present",
                      outbox=len(self.outbox), version="fleet-bench", key=self.key.public_key).to_json()

    # ------------------------------------------------------------ the connection
    async def run(self) -> None:
        backoff = 0.2
        while True:
            await self.fleet.network.wait()
            try:
                async with self.fleet.connecting:
                    reader, writer = await asyncio.open_connection(self.fleet.host, self.fleet.port)
                    writer.write(connect_packet(self.device, self.device, self.password, self.topics["status"],
                                                OFFLINE_STATUS.to_json()))
                    first, body = await asyncio.wait_for(_read_packet(reader), 30)
                if first & 0xF0 != CONNACK or body[1] != 0:
                    raise ConnectionError(f"refused: {body!r}")
                self.writer = writer
                writer.write(packet(SUBSCRIBE, struct.pack("!H", self._mid()) + b"".join(
                    _string(self.topics[k].encode()) + b"\x01" for k in ("ack", "config", "invite"))))
                writer.write(publish_packet(self.topics["status"], self.status(), self._mid(), retain=True))
                self.online, backoff = True, 0.2
                self.inflight.clear()
                self.pump()
                await self._receive(reader, writer)
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
                pass
            except Exception as exc:  # a bug here: say so, and carry on as a kiosk would
                print(f"{self.device}: {exc!r}", file=sys.stderr, flush=True)
            finally:
                self.online = False
                if self.writer is not None:
                    self.writer.close()
                    self.writer = None
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0) if self.fleet.network.is_set() else 0)
            backoff = min(backoff * 2, 5.0)

    async def _receive(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            first, body = await _read_packet(reader)
            kind = first & 0xF0
            if kind == PUBLISH:
                (n,) = struct.unpack_from("!H", body)
                name = body[2:2 + n].decode()
                qos = (first >> 1) & 3
                offset = 2 + n
                if qos:
                    writer.write(packet(PUBACK, body[offset:offset + 2]))
                    offset += 2
                self._message(name, body[offset:])

    def _message(self, name: str, payload: bytes) -> None:
        if name == self.topics["ack"]:
            ack = json.loads(payload)
            if ack.get("stream") == self.stream:
                self.ack(int(ack["upto_seq"]))
        elif name == self.topics["config"] and payload:
            self.configured = True


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return first, await reader.readexactly(length) if length else b""


class Fleet:
    def __init__(self, host: str, port: int, kiosks: list[tuple[str, str]], password: str):
        self.host, self.port = host, port
        self.kiosks = [Kiosk(self, device, window, password) for device, window in kiosks]
        self.network = asyncio.Event()
        self.connecting = asyncio.Semaphore(CONNECTING_AT_ONCE)
        self.latencies: list[float] = []
        self.sent = self.resent = 0
        self.tasks: list[asyncio.Task] = []

    async def until(self, condition, timeout: float) -> float | None:
        start = time.monotonic()
        while not condition():
            if time.monotonic() - start > timeout:
                return None
            await asyncio.sleep(0.05)
        return time.monotonic() - start

    async def command(self, cmd: dict) -> dict:
        name = cmd["cmd"]
        if name == "connect":
            start = time.monotonic()
            self.network.set()
            self.tasks = [asyncio.create_task(k.run()) for k in self.kiosks]
            online = await self.until(lambda: all(k.online for k in self.kiosks), cmd.get("timeout", 300))
            configured = await self.until(lambda: all(k.configured for k in self.kiosks), cmd.get("timeout", 300))
            return {"online": online, "configured": configured and time.monotonic() - start}
        if name == "press":
            return {"pressed": await self._press(cmd["rate"], cmd["seconds"])}
        if name == "queue":
            now, span, n = datetime.now(UTC), cmd["span"], cmd["per_kiosk"]
            pressed = time.monotonic()
            for k in self.kiosks:
                for i in range(n):
                    k.append(now - timedelta(seconds=span * (n - i) / n), pressed)
            return {"queued": n * len(self.kiosks)}
        if name == "offline":
            self.network.clear()
            for k in self.kiosks:
                if k.writer is not None:
                    k.writer.transport.abort()
            await self.until(lambda: not any(k.online for k in self.kiosks), 30)
            return {"ok": True}
        if name == "online":
            now = time.monotonic()
            for k in self.kiosks:  # a queued event's wait counts from when the network came back
                for seq, (payload, _) in k.outbox.items():
                    k.outbox[seq] = (payload, now)
            self.network.set()
            return {"ok": True}
        if name == "settled":
            took = await self.until(lambda: all(k.online and not k.outbox for k in self.kiosks), cmd["timeout"])
            return {"settled": took, "online": sum(k.online for k in self.kiosks),
                    "waiting": sum(len(k.outbox) for k in self.kiosks)}
        if name == "stats":
            out = {"latencies_ms": [round(v, 2) for v in self.latencies], "sent": self.sent, "resent": self.resent,
                   "last_seq": {k.stream: k.seq for k in self.kiosks}}
            self.latencies, self.sent, self.resent = [], 0, 0
            return out
        raise ValueError(f"unknown command {name!r}")

    async def _press(self, rate: float, seconds: float) -> int:
        """`rate` presses a second, each at a kiosk picked at random, for `seconds`."""
        start, pressed = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) + 1 - pressed
            for _ in range(due):
                k = random.choice(self.kiosks)
                k.append(datetime.now(UTC), time.monotonic())
                k.pump()
                pressed += 1
            await asyncio.sleep(0.01)
        return pressed

    async def resend_loop(self) -> None:
        """The kiosks' ack timeout, checked twice a second; a ping from each kiosk every half keepalive."""
        pinged = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            ping = time.monotonic() - pinged >= KEEPALIVE / 2
            if ping:
                pinged = time.monotonic()
            for k in self.kiosks:
                if k.online and k.inflight:
                    k.pump()
                if ping and k.online:
                    k.writer.write(packet(PINGREQ, b""))


async def main() -> None:
    setup = json.loads(sys.stdin.readline())
    fleet = Fleet(setup["host"], setup["port"], [tuple(k) for k in setup["kiosks"]], setup["password"])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    asyncio.create_task(fleet.resend_loop())
    print(json.dumps({"ready": len(fleet.kiosks)}), flush=True)
    while line := await reader.readline():
        print(json.dumps(await fleet.command(json.loads(line))), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
