"""The kiosk under attack and under a full disk (issue 11).

- On a broker without the ACL anyone can publish on a kiosk's ack topic: an ack beyond the
  kiosk's last seq must delete nothing, and the kiosk reports it in its status.
- On a full disk (a real tmpfs of 1 MiB, filled with a ballast file) the outbox reports the real
  cause, the kiosk thanks for no press it did not store, says so on its screen and in its status,
  and recovers by itself when space returns.
"""
from __future__ import annotations

import json
import logging

import pytest

from device import screens
from device.core import Kiosk, NotStored
from device.outbox import AckBeyond, Outbox
from device.runtime import KioskRuntime
from device.settings import KioskSettings
from shared.clock import FakeClock
from shared.contract import Ack, Config

from ..helpers import append_rating as append
from ..helpers import wait_for
from ..listener import Listener
from ..small_disk import exhaust

CLERK = Config(title="3号窗口", staff={"id": "1024", "name": "张敏"})


# ---------------------------------------------------------------- a real disk that fills up
def test_a_full_disk_is_reported_with_its_real_cause_and_the_outbox_recovers(small_disk):
    outbox = Outbox(small_disk.path / "outbox.sqlite3")
    try:
        small_disk.fill()
        exhaust(outbox)
        last_seq, count = outbox.last_seq, outbox.count()
        with pytest.raises(NotStored) as failure:
            outbox.append(ts="2026-11-23T09:00:00.000+08:00", window="w03", type="rating", score=5, scale=5)
        assert failure.value.full, failure.value
        assert "full" in str(failure.value) and "rollback" not in str(failure.value)
        assert (outbox.last_seq, outbox.count()) == (last_seq, count), "nothing half written"
        small_disk.free()
        event = outbox.append(ts="2026-11-23T09:00:00.000+08:00", window="w03", type="rating", score=5, scale=5)
        assert event.seq == last_seq + 1 and outbox.count() == count + 1
    finally:
        outbox.close()
    reopened = Outbox(small_disk.path / "outbox.sqlite3")
    assert reopened.last_seq == last_seq + 1, "what was stored survives"
    reopened.close()


def test_the_kiosk_thanks_for_no_press_it_did_not_store_and_recovers(small_disk, caplog):
    clock = FakeClock()
    outbox = Outbox(small_disk.path / "outbox.sqlite3")
    kiosk = Kiosk(outbox, clock, "w03", CLERK)
    try:
        kiosk.start()
        small_disk.fill()
        exhaust(outbox)
        stored = outbox.count()
        with caplog.at_level(logging.ERROR, logger="device.core"):
            assert kiosk.press(5), "the press was taken"
        assert (kiosk.shown, kiosk.storage, outbox.count()) == (screens.READY, "full", stored), "no thanks, nothing stored"
        assert "database or disk is full" in caplog.text and "cannot rollback" not in caplog.text
        assert kiosk.press(4), "the guard interval does not hold back a press that was not stored"
        assert kiosk.shown == screens.READY and kiosk.last_rating is None

        small_disk.free()
        assert kiosk.press(3)
        assert (kiosk.shown, kiosk.storage) == (screens.THANKS, None)
        assert kiosk.last_rating.score == 3 and outbox.count() == stored + 1
    finally:
        outbox.close()


def test_a_low_score_not_stored_after_its_reasons_is_not_thanked(small_disk):
    clock = FakeClock()
    outbox = Outbox(small_disk.path / "outbox.sqlite3")
    kiosk = Kiosk(outbox, clock, "w03", CLERK)
    try:
        kiosk.start()
        assert kiosk.press(1) and kiosk.shown == screens.RATED
        small_disk.fill()
        exhaust(outbox)
        kiosk.choose_reasons(["slow"])
        assert (kiosk.shown, kiosk.storage) == (screens.READY, "full")
    finally:
        outbox.close()


def test_the_screen_says_storage_is_full_and_the_message_goes_when_space_returns(make_screen, small_disk):
    screen = make_screen(CLERK, data_dir=small_disk.path / "kiosk")
    small_disk.fill()
    exhaust(screen.runtime.outbox)
    before = len(screen.ratings())
    screen.tap(screen.rating_buttons()[0])
    assert screen.current == screens.READY, "not thanked"
    assert screen.app.storage_text == "存储已满，评价暂不能保存，请告知工作人员"
    banner = screen.screen(screens.READY).ids.storage
    assert banner.height > 0 and banner.opacity == 1 and banner.content == screen.app.storage_text
    assert len(screen.ratings()) == before
    status = json.loads(screen.runtime._status().to_json())
    assert status["storage"] == "full"

    screen.tap(_english(screen))
    assert screen.app.storage_text == "Storage is full: ratings cannot be saved. Please tell the staff."

    small_disk.free()
    screen.tap(screen.rating_buttons()[0])
    assert screen.current == screens.THANKS
    assert screen.app.storage_text == "" and len(screen.ratings()) == before + 1
    assert "storage" not in json.loads(screen.runtime._status().to_json())


def _english(screen):
    return next(w for w in screen.screen(screens.READY).walk() if getattr(w, "text", None) == "English")


def test_a_failed_write_of_the_servers_config_still_applies_it(make_screen, small_disk):
    screen = make_screen(CLERK, data_dir=small_disk.path / "kiosk")
    small_disk.fill()
    screen.runtime._config_arrived(Config(title="5号窗口", staff={"id": "2048", "name": "王磊"}))
    screen.frames()
    assert screen.app.title_text == "5号窗口" and screen.kiosk.staff == "2048"


# ---------------------------------------------------------------- forged acks
def test_an_ack_beyond_the_last_seq_deletes_nothing(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for _ in range(3):
        append(outbox)
    with pytest.raises(AckBeyond, match="up to seq 1000, but the last seq is 3"):
        outbox.ack(outbox.stream, 1000)
    assert outbox.count() == 3
    assert outbox.ack("another-stream-0", 1000) == 0, "another stream's ack is ignored as before"
    assert outbox.ack(outbox.stream, 3) == 3


def test_a_forged_ack_through_the_broker_is_ignored_and_reported(tmp_path, broker):
    device = "k-forged-ack"
    clock = FakeClock()
    runtime = KioskRuntime(KioskSettings(device=device, window="w03", broker=broker.url, data_dir=tmp_path,
                                         ack_timeout=1000.0, min_interval=0.0), clock=clock)
    attacker = Listener(broker, f"ceval/v1/{device}/#")
    runtime.start()  # seq 1: the away sign's position
    try:
        outbox = runtime.outbox
        runtime.act(runtime.kiosk.press, 5)
        clock.advance(5)
        runtime.act(runtime.kiosk.tick)
        runtime.act(runtime.kiosk.press, 4)
        wait_for(lambda: attacker.seqs() == [1, 2, 3], 10, "the sends")
        publisher = runtime.publisher
        for upto in (4000, 2**53 - 1):
            attacker.client.publish(f"ceval/v1/{device}/ack", Ack(outbox.stream, upto).to_json(), qos=1)
        wait_for(lambda: publisher.ignored_acks == 2, 10, "the forged acks to arrive")
        assert outbox.count() == 3, "no event deleted"
        clock.advance(2.0)
        wait_for(lambda: any(t.endswith("/status") and json.loads(p).get("ignored_acks", {}).get("count") == 2
                             for t, p, _ in attacker.messages), 10, "the status to report them")
        reported = [json.loads(p) for t, p, _ in attacker.messages if t.endswith("/status")][-1]["ignored_acks"]
        assert reported["upto_seq"] == 2**53 - 1 and reported["ts"]

        attacker.client.publish(f"ceval/v1/{device}/ack", Ack(outbox.stream, 2).to_json(), qos=1)
        wait_for(lambda: outbox.count() == 1, 10, "a true ack still deletes what it covers")
        assert publisher.ignored_acks == 2
    finally:
        runtime.stop()
        attacker.close()
