"""Hand-built MQTT messages for the server's tests."""
from __future__ import annotations

import json

from server.ingest.ingestor import Message

STREAM = "stream-0001"


def event(seq: int, type: str = "rating", stream: str = STREAM, ts: str = "2026-11-23T09:00:00.000+08:00",
          window: str = "w01", id: str | None = None, **fields) -> dict:
    body = {"v": 1, "id": id or f"{stream}-{seq:06d}", "stream": stream, "seq": seq, "ts": ts, "window": window,
            "type": type}
    if type == "rating":
        body.update(score=5, scale=5)
    body.update(fields)
    return body


def msg(body, device: str = "k1", kind: str = "event") -> Message:
    payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Message(f"ceval/v1/{device}/{kind}", payload)
