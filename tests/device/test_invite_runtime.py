"""A server's invite for a case number reaches a running kiosk over the real broker: runtime and screen."""
from __future__ import annotations

import json
import time

import paho.mqtt.publish as publish

from device import screens
from device.runtime import KioskRuntime
from shared.contract import Config, Invite

from ..helpers import kiosk_settings, wait_for

CLERK = Config(title="3号窗口", staff={"id": "1024", "name": "张敏"})


def send(broker, device: str, payload: bytes) -> None:
    publish.single(f"ceval/v1/{device}/invite", payload, qos=1, retain=False,
                   hostname=broker.host, port=broker.port)


def send_until(broker, device: str, payload: bytes, seen, what: str, tries: int = 10) -> None:
    """Send until `seen()`: `connected` comes before the kiosk's SUBSCRIBE reaches the broker, and a message
    that is not retained reaches only clients already subscribed (a race that emulation makes likely)."""
    for _ in range(tries):
        send(broker, device, payload)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if seen():
                return
            time.sleep(0.02)
    raise AssertionError(f"{what}: not seen after {tries} sends")


def invite(n: int, case: str, ttl: int = 60) -> bytes:
    return Invite(n, case, "2026-11-23T09:00:00.000+08:00", ttl).to_json()


def ratings(runtime) -> list[dict]:
    return [e for e in (json.loads(p) for _, p in runtime.outbox.pending(limit=1000)) if e["type"] == "rating"]


def test_an_invite_on_the_broker_opens_the_buttons_and_the_rating_carries_the_case(tmp_path, broker):
    runtime = KioskRuntime(kiosk_settings(tmp_path, broker.url, "k-inv-rt", "w21", invite_mode=True,
                                          invite_seconds=30.0))
    runtime.start()
    kiosk = runtime.kiosk
    try:
        wait_for(lambda: runtime.publisher.connected, 10, "the kiosk to connect")
        assert kiosk.shown == screens.IDLE
        send(broker, "k-inv-rt", b'{"v":1,"id":1,"case":"bad case","ts":"2026-11-23T09:00:00.000+08:00","ttl":60}')
        send(broker, "k-inv-rt", b"not json")
        send(broker, "k-inv-rt", invite(2, "370102-2026-000123"))
        wait_for(lambda: kiosk.case is not None, 5, "the invite to reach the kiosk")
        assert (kiosk.shown, kiosk.case) == (screens.READY, "370102-2026-000123"), "bad invites are ignored"
        assert runtime.act(kiosk.press, 5)
        assert [(r["score"], r.get("case")) for r in ratings(runtime)] == [(5, "370102-2026-000123")]
    finally:
        runtime.stop()


def test_an_invite_is_not_retained_a_kiosk_that_connects_later_sees_none(tmp_path, broker):
    send(broker, "k-inv-late", invite(1, "LATE-1"))
    runtime = KioskRuntime(kiosk_settings(tmp_path, broker.url, "k-inv-late", "w22", invite_mode=True))
    runtime.start()
    try:
        wait_for(lambda: runtime.publisher.connected, 10, "the kiosk to connect")
        # arrives after anything retained would have
        send_until(broker, "k-inv-late", invite(2, "NOW-2"), lambda: runtime.kiosk.case is not None,
                   "the second invite")
        assert runtime.kiosk.case == "NOW-2"
    finally:
        runtime.stop()


def test_the_screen_shows_the_case_number_small_while_invited(make_screen, broker, tmp_path):
    screen = make_screen(CLERK, broker=broker.url, device="k-inv-scr", invite_mode=True, invite_seconds=10.0)
    screen.until(lambda: screen.runtime.publisher.connected, 10, "the kiosk to connect")
    assert screen.current == screens.IDLE
    send(broker, "k-inv-scr", invite(3, "370102-2026-000123"))
    screen.until(lambda: screen.current == screens.READY, 5, "the invited rating screen")
    label = screen.screen(screens.READY).ids.case
    assert label.text == "办件编号 370102-2026-000123" and label.opacity == 1
    screen.app.root.export_to_png(str(tmp_path / "invited.png"))
    screen.tap(screen.rating_buttons()[0])  # 非常满意
    assert [(e["score"], e.get("case")) for e in screen.ratings()] == [(5, "370102-2026-000123")]
    screen.advance(3.5)
    assert screen.current == screens.IDLE and label.text == "" and label.height == 0
