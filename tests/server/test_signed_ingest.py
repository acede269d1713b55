"""The collector and signed, chained events (shared/signing.py): what a pinned key demands, what an unpinned
kiosk keeps, a pin made before the kiosk reported its key, a replaced outbox announced as a new chain, and the
Devices page that shows the key and pins it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.outbox import Outbox
from device.signing_key import SigningKey
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from shared import signing
from shared.contract import Status
from shared.timefmt import to_ms

from .events import msg
from .web import PASSWORD, As

TS = "2026-11-23T09:00:00.000+08:00"


def rating(outbox: Outbox, score: int = 5) -> bytes:
    """A rating as the kiosk commits and sends it: chained, and signed when the outbox has a key."""
    outbox.append(ts=TS, window="w01", type="rating", staff=None, score=score, scale=5, reasons=())
    return outbox.pending(outbox.last_seq - 1, 1)[0][1]


def status(key: SigningKey, device: str = "k1"):
    return msg(Status(online=True, key=key.public_key).to_json(), device=device, kind="status")


@pytest.fixture
def kiosk(tmp_path):
    key = SigningKey.load_or_create(tmp_path / "k1")
    outbox = Outbox(tmp_path / "k1" / "outbox.sqlite3", key)
    yield key, outbox
    outbox.close()


def stored(store) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT seq FROM events WHERE device = 'k1' ORDER BY seq")]


def reasons(store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT reason FROM rejects WHERE device = 'k1' ORDER BY id")]


def test_an_unpinned_kiosks_events_count_signed_or_not_and_keep_their_chain_fields(blank_store, clock, kiosk):
    key, outbox = kiosk
    ingestor = Ingestor(blank_store, clock)
    first, second = rating(outbox), rating(outbox)
    unsigned = json.loads(second)
    unsigned.update(id="unsigned-0003", seq=3)
    del unsigned["sig"], unsigned["prev"]
    result = ingestor.handle([status(key), msg(first), msg(second), msg(unsigned)])
    assert result.stored == 3 and stored(blank_store) == [1, 2, 3]
    prev, digest = blank_store.db.execute("SELECT prev, digest FROM events WHERE seq = 2").fetchone()
    assert prev.hex() == json.loads(second)["prev"] and digest is None, "its digest waits for retention"
    assert blank_store.keys.reported_key("k1") == key.public_key


def test_a_pin_made_before_the_kiosk_reported_its_key_holds_events_back_until_it_does(blank_store, clock, kiosk):
    key, outbox = kiosk
    blank_store.keys.pin("k1", key.fingerprint, "root", 0)
    ingestor = Ingestor(blank_store, clock)
    early = rating(outbox)
    assert ingestor.handle([msg(early)]).rejected == 1
    assert reasons(blank_store) == [f"sig: device k1 has not yet reported its pinned key {key.fingerprint[:16]}…"]
    result = ingestor.handle([status(key), msg(rating(outbox))])
    assert result.stored == 1 and stored(blank_store) == [2]
    assert blank_store.keys.pinned("k1").key == key.public_key


def test_another_key_is_refused_until_an_admin_pins_it_and_a_replaced_outbox_is_announced(
        blank_store, clock, kiosk, tmp_path):
    key, outbox = kiosk
    ingestor = Ingestor(blank_store, clock)
    ingestor.handle([status(key)])
    blank_store.keys.pin("k1", key.fingerprint, "root", 0)
    assert ingestor.handle([msg(rating(outbox)), msg(rating(outbox))]).stored == 2
    # the SD card is replaced: a new key and a new outbox, so a new stream and a new chain
    card = SigningKey.load_or_create(tmp_path / "new-card")
    fresh = Outbox(tmp_path / "new-card" / "outbox.sqlite3", card)
    try:
        ingestor.handle([status(card)])
        assert ingestor.handle([msg(rating(fresh))]).rejected == 1
        assert reasons(blank_store)[-1].startswith("sig: the signature does not verify with device k1's pinned key")
        assert blank_store.keys.pin("k1", card.fingerprint, "root", 1)
        assert ingestor.handle([msg(rating(fresh))]).stored == 1
    finally:
        fresh.close()
    kinds = [r[0] for r in blank_store.db.execute("SELECT message FROM alerts WHERE kind = 'chain' ORDER BY id")]
    assert len(kinds) == 2 and "新的签名记录链" in kinds[0] and fresh.stream in kinds[0] and "拒收" in kinds[1]
    assert [p.fingerprint for p in blank_store.keys.pins("k1")] == [key.fingerprint, card.fingerprint]


def test_a_resent_event_is_a_duplicate_and_a_changed_one_is_refused(blank_store, clock, kiosk):
    key, outbox = kiosk
    ingestor = Ingestor(blank_store, clock)
    ingestor.handle([status(key)])
    blank_store.keys.pin("k1", key.fingerprint, "root", 0)
    first = rating(outbox, score=1)
    assert ingestor.handle([msg(first)]).stored == 1
    assert ingestor.handle([msg(first)]).duplicates == 1
    changed = json.loads(rating(outbox, score=1))
    changed["score"] = 5  # its signature no longer matches
    assert ingestor.handle([msg(changed)]).rejected == 1
    assert reasons(blank_store)[-1].startswith("sig: the signature does not verify")


def test_the_devices_page_shows_the_reported_key_and_pins_it_on_confirming(app, blank_store, clock, kiosk):
    key, outbox = kiosk
    blank_store.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    Ingestor(blank_store, clock).handle([status(key), msg(rating(outbox))])
    admin = As(app, "root")
    page = admin.get("/admin/devices").get_data(as_text=True)
    shown = signing.shown_fingerprint(key.fingerprint)
    assert shown in page and "未锁定" in page and f'name="pin" value="{key.fingerprint}"' in page
    bad = admin.post("/admin/devices/k1", {"window": "w01", "pin": "12ab"})
    assert bad.status_code == 400 and blank_store.keys.pinned("k1") is None
    assert admin.post("/admin/devices/k1", {"window": "w01", "pin": key.fingerprint}).status_code == 302
    pin = blank_store.keys.pinned("k1")
    assert (pin.fingerprint, pin.key, pin.pinned_by) == (key.fingerprint, key.public_key, "root")
    page = admin.get("/admin/devices").get_data(as_text=True)
    assert "已锁定" in page and "签名密钥已锁定" in page


def test_past_retention_the_chain_still_verifies_from_daily_anchors_and_an_altered_digest_is_named(
        blank_store, clock, kiosk):
    from server.ops.retention import RetentionTask
    from server.reporting.audit import verify

    key, outbox = kiosk
    ingestor = Ingestor(blank_store, clock)
    ingestor.handle([status(key)])
    blank_store.keys.pin("k1", key.fingerprint, "root", 0)
    for day in ("2026-11-21", "2026-11-22"):
        for hour in ("09", "10", "11"):
            outbox.append(ts=f"{day}T{hour}:00:00.000+08:00", window="w01", type="rating", staff=None, score=5,
                          scale=5, reasons=())
    assert ingestor.handle([msg(p) for _, p in outbox.pending(0, 10)]).stored == 6
    clock.advance(40 * 86400)
    blank_store.maintenance.set_retention_days(30)
    RetentionTask(pause=0).run(blank_store, clock.now())
    kept = [seq for seq, payload in blank_store.db.execute("SELECT seq, payload FROM events ORDER BY seq") if payload]
    assert kept == [3, 6], "the last event of each day keeps its signed payload"
    audit = verify(blank_store, "w01")
    assert not audit.breaks and (audit.events, audit.signed, audit.pruned) == (6, 2, 4), audit
    blank_store.db.execute("UPDATE events SET digest = zeroblob(32) WHERE seq = 2")
    audit = verify(blank_store, "w01")
    assert [(f.seq, f.what) for f in audit.breaks] == [(3, "altered")], audit.breaks


def test_a_manager_downloads_the_windows_bundle_and_the_checker_which_says_ok(app, blank_store, clock, kiosk):
    key, outbox = kiosk
    blank_store.accounts.create_user("boss", hash_password(PASSWORD), "manager", None, 0)
    blank_store.accounts.create_user("look", hash_password(PASSWORD), "viewer", None, 0)
    ingestor = Ingestor(blank_store, clock)
    ingestor.handle([status(key)])
    blank_store.keys.pin("k1", key.fingerprint, "root", 0)
    ingestor.handle([msg(rating(outbox, score)) for score in (5, 1, 4)])
    boss = As(app, "boss")
    assert "签名记录审计包" in boss.text("/windows/w01?from=2026-11-01&to=2026-11-30")
    response = boss.get("/windows/w01/audit-bundle.json?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    checked = signing.check_bundle(json.loads(response.get_data(as_text=True)))
    assert not checked.breaks and (checked.events, checked.signed) == (3, 3)
    assert boss.get("/audit/signing.py").get_data() == Path(signing.__file__).read_bytes()
    assert boss.get("/windows/w01/audit-bundle.json?from=2026-11-30&to=2026-11-01").status_code == 400
    look = As(app, "look")
    assert look.get("/windows/w01/audit-bundle.json").status_code == 403
    assert "签名记录审计包" not in look.text("/windows/w01")


def test_an_upheld_appeal_shows_as_an_exclusion_with_who_and_when_never_as_a_gap(blank_store, clock, kiosk):
    from server.reporting.audit import verify

    key, outbox = kiosk
    ingestor = Ingestor(blank_store, clock)
    ingestor.handle([status(key)])
    blank_store.keys.pin("k1", key.fingerprint, "root", 0)
    ingestor.handle([msg(rating(outbox, score)) for score in (5, 1, 4)])
    appealed = json.loads(outbox.pending(1, 1)[0][1])["id"]  # the 1
    appeal = blank_store.appeals.file_appeal(appealed, "boss", "the customer pressed by mistake", 1000)
    assert blank_store.appeals.decide_appeal(appeal, "upheld", "director", "agreed", 2000)
    checked = verify(blank_store, "w01")
    assert not checked.breaks and checked.events == 3
    assert [(n.seq, n.what) for n in checked.notes] == [(2, "excluded")]
    assert "by director" in checked.notes[0].detail and "the customer pressed by mistake" in checked.notes[0].detail


def test_retention_stores_the_digests_of_an_unpinned_kiosks_events_before_their_raw_events_go(
        blank_store, clock, kiosk):
    from server.ops.retention import RetentionTask
    from server.reporting.audit import verify

    key, outbox = kiosk
    for hour in ("09", "10", "11"):
        outbox.append(ts=f"2026-11-21T{hour}:00:00.000+08:00", window="w01", type="rating", staff=None, score=4,
                      scale=5, reasons=())
    Ingestor(blank_store, clock).handle([msg(p) for _, p in outbox.pending(0, 10)])
    assert blank_store.db.execute("SELECT count(*) FROM events WHERE digest IS NULL").fetchone() == (3,)
    clock.advance(40 * 86400)
    blank_store.maintenance.set_retention_days(30)
    RetentionTask(pause=0).run(blank_store, clock.now())
    rows = blank_store.db.execute("SELECT seq, payload != '', digest FROM events ORDER BY seq").fetchall()
    assert [(seq, kept) for seq, kept, _ in rows] == [(1, 0), (2, 0), (3, 1)]
    assert all(digest is not None for *_, digest in rows[:2])
    checked = verify(blank_store, "w01")
    assert not checked.breaks and (checked.pruned, checked.unpinned) == (2, 1)


def test_events_received_before_the_pin_are_not_held_to_it(blank_store, clock, tmp_path):
    from server.reporting.audit import verify

    key = SigningKey.load_or_create(tmp_path / "upgraded")
    path = tmp_path / "upgraded" / "outbox.sqlite3"
    ingestor = Ingestor(blank_store, clock)
    before = Outbox(path)  # a kiosk that signed nothing yet: its events chain, unsigned
    try:
        ingestor.handle([msg(rating(before)), msg(rating(before))])
    finally:
        before.close()
    clock.advance(60)
    ingestor.handle([status(key)])
    blank_store.keys.pin("k1", key.fingerprint, "root", to_ms(clock.now()))
    clock.advance(60)
    after = Outbox(path, key)
    try:
        assert ingestor.handle([msg(rating(after)), msg(rating(after))]).stored == 2
    finally:
        after.close()
    checked = verify(blank_store, "w01")
    assert not checked.breaks and (checked.events, checked.signed, checked.unpinned) == (4, 2, 2)
