"""A kiosk's health reaches the server (issue 11): a real KioskRuntime whose outbox is on a real tmpfs that fills
up, and an ack forged by another client of a broker without the ACL, through a real Mosquitto to `ceval server`."""
from __future__ import annotations

import pytest

from device import screens
from device.runtime import KioskRuntime
from shared.contract import Ack
from shared.topics import topic

from ..helpers import ServerProcess, kiosk_settings, query, rate, wait_for
from ..listener import Listener
from ..small_disk import exhaust

DEVICE = "k-health"


def health(db) -> list[tuple]:
    return query(db, "SELECT storage, ignored_acks, ignored_upto_seq FROM devices WHERE device = ?", (DEVICE,))


@pytest.mark.slow
def test_a_full_disk_and_a_forged_ack_on_the_kiosk_show_on_the_server(tmp_path, broker, small_disk):
    db = tmp_path / "ceval.sqlite3"
    server = ServerProcess(db, broker.url).start()
    runtime = KioskRuntime(kiosk_settings(small_disk.path / "kiosk", broker.url, DEVICE, "w71"))
    attacker = Listener(broker, topic(DEVICE, "status"))
    kiosk = runtime.kiosk
    try:
        runtime.start()
        rate(runtime, 5)
        wait_for(lambda: health(db) == [(None, None, None)] and runtime.outbox.count() == 0, 15, "the first rating")

        small_disk.fill()
        exhaust(runtime.outbox)
        wait_for(lambda: runtime.act(kiosk.tick) or kiosk.screen == screens.READY, 5, "the rating screen")
        assert runtime.act(kiosk.press, 4) and kiosk.storage == "full"
        wait_for(lambda: health(db)[0][0] == "full", 15, "the server to learn the kiosk cannot store")
        assert query(db, "SELECT kind, window, device, count FROM alerts") == [("storage", "w71", DEVICE, 1)]

        attacker.client.publish(topic(DEVICE, "ack"), Ack(runtime.outbox.stream, 999_999).to_json(), qos=1)
        wait_for(lambda: health(db) == [("full", 1, 999_999)], 15, "the ignored ack reported to the server")

        small_disk.free()
        rate(runtime, 3)
        wait_for(lambda: health(db) == [(None, 1, 999_999)], 15, "the server to learn it stores again")
        assert query(db, "SELECT count FROM alerts") == [(1,)], "one alert for the episode"
    finally:
        runtime.stop()
        attacker.close()
        server.stop()
