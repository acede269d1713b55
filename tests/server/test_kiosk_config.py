"""Building each kiosk's config from the registry, and deciding when to publish it again."""
from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from server.domain.comment_token import check_token
from server.domain.kiosk_config import MAX_CONFIG_BYTES, Clerk, Target, build_config, due, version, with_token
from server.ingest.config_push import ConfigPush
from shared.contract import DEFAULT_LABELS, DEFAULT_PHRASES, DEFAULT_REASONS, parse_config
from shared.pins import hash_pin, is_pin_hash
from shared.timefmt import to_ms

PIN = hash_pin("246810", salt=bytes(16))
TARGET = Target("k1", "w03", "3号窗口 · 社保", "hall-a")


# ---------------------------------------------------------------- pure building
def test_a_config_has_the_title_the_roster_and_the_defaults():
    config = build_config(TARGET, [Clerk("1024", "张敏", PIN), Clerk("1031", "王磊", PIN)], None)
    assert config.title == "3号窗口 · 社保"
    assert config.staff is None
    assert config.roster == ({"id": "1024", "name": "张敏", "pin": PIN}, {"id": "1031", "name": "王磊", "pin": PIN})
    assert config.comment_url is None
    assert (config.scale, config.labels, config.reasons, config.phrases) == (
        5, DEFAULT_LABELS[5], DEFAULT_REASONS, DEFAULT_PHRASES)
    assert parse_config(config.to_json()) == config, "a kiosk reads back exactly what was built"


def test_a_window_without_a_title_gets_the_default_one():
    assert build_config(Target("k1", "w07", "", None), [], None).title == "7号窗口"


def test_clerks_a_kiosk_would_refuse_are_left_off():
    config = build_config(TARGET, [Clerk("10 24", "空格", PIN), Clerk("1046", "李娜", "plain-1234"),
                                   Clerk("1052", "刘洋", PIN)], None)
    assert [c["id"] for c in config.roster] == ["1052"]


def test_weak_pin_hashes_are_not_sent_to_kiosks(caplog):
    """A hash of the first version (PBKDF2, a 4-digit PIN falls in minutes) or a cheap scrypt one stays on the
    server: its clerk is marked "PIN must be reset" on the staff page instead."""
    salt = bytes(16)
    legacy = f"pbkdf2_sha256$100000${salt.hex()}${hashlib.pbkdf2_hmac('sha256', b'2468', salt, 100_000).hex()}"
    cheap = f"scrypt$10$8$1${salt.hex()}${hashlib.scrypt(b'246810', salt=salt, n=1024, r=8, p=1, dklen=32).hex()}"
    assert is_pin_hash(legacy) and is_pin_hash(cheap), "a kiosk could check them: the server chooses not to send them"
    with caplog.at_level("INFO", logger="server.domain.kiosk_config"):
        config = build_config(TARGET, [Clerk("1024", "张敏", legacy), Clerk("1031", "王磊", cheap),
                                       Clerk("1052", "刘洋", PIN)], None)
    assert [c["id"] for c in config.roster] == ["1052"]
    assert "clerk 1024 left off the roster of w03: the PIN must be reset" in caplog.text
    parse_config(config.to_json())


def test_the_comment_link_carries_the_token_but_the_version_does_not():
    config = build_config(TARGET, [], "https://pj.example.cn/ceval/")
    assert config.comment_url == "https://pj.example.cn/ceval/c/w03"
    sent = with_token(config, "TOKEN.abc-_")
    assert sent.comment_url == "https://pj.example.cn/ceval/c/w03?t=TOKEN.abc-_"
    assert parse_config(sent.to_json()).comment_url == sent.comment_url
    assert version(config) == version(build_config(TARGET, [], "https://pj.example.cn/ceval/"))
    assert version(config) != version(build_config(TARGET, [], None))
    assert version(config) != version(build_config(Target("k1", "w03", "新名字", "hall-a"), [], "https://x.cn"))


def test_a_roster_too_long_for_one_message_is_cut_to_fit():
    clerks = [Clerk(f"{n:05d}", "欧阳" * 10, PIN) for n in range(600)]
    config = build_config(TARGET, clerks, "https://pj.example.cn")
    payload = with_token(config, "x" * 120).to_json()
    assert len(payload) <= MAX_CONFIG_BYTES
    parse_config(payload)
    kept = len(config.roster)
    assert [c["id"] for c in config.roster] == [c.staff for c in clerks[:kept]], "the first ones, in order"
    one_more = build_config(TARGET, clerks[:kept + 1], "https://pj.example.cn")
    assert len(one_more.roster) == kept, "as many as fit"


@pytest.mark.parametrize("sent, sent_at, now, refresh, expected", [
    (None, None, 10, None, True),            # never sent
    ("old", 5, 10, None, True),              # changed
    ("v", 5, 10**9, None, False),            # same, and no token to refresh
    ("v", 0, 3_599_999, 3_600_000, False),   # token younger than half its lifetime
    ("v", 0, 3_600_000, 3_600_000, True),    # half its lifetime: a fresh one
])
def test_when_a_config_is_due(sent, sent_at, now, refresh, expected):
    target = Target("k1", "w03", "t", None, sent=sent, sent_at=sent_at)
    assert due(target, "v", now, refresh) is expected


# ---------------------------------------------------------------- pushing, with a fake broker
class FakeBroker:
    """Takes publishes like paho (a message id each) and acknowledges them when told to."""

    def __init__(self):
        self.published: list[tuple[int, str, bytes]] = []
        self.up = True

    def publish(self, name: str, payload: bytes) -> int | None:
        if not self.up:
            return None
        mid = len(self.published) + 1
        self.published.append((mid, name, payload))
        return mid

    def configs(self, device: str):
        return [parse_config(p) for _, name, p in self.published if name == f"ceval/v1/{device}/config"]


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.db.execute("INSERT INTO sites (site, name) VALUES ('hall-a', '市民服务中心')")
    s.db.execute("INSERT INTO staff (staff, name, site, pin_hash) VALUES ('1024', '张敏', 'hall-a', ?), "
                 "('1031', '王磊', 'hall-a', NULL), ('2048', '外站', 'hall-b', ?)", (PIN, PIN))
    s.ingest.register_device("k1", "w03", 0)
    s.db.execute("UPDATE windows SET title = '社保窗口', site = 'hall-a' WHERE window = 'w03'")
    s.ingest.seen_device("k9", 0)  # seen but never confirmed: gets nothing
    s.db.execute("UPDATE devices SET window = 'w03' WHERE device = 'k9'")


@pytest.fixture
def push(store, clock):
    broker = FakeBroker()
    pusher = ConfigPush(store, clock, broker.publish, "the-secret", "https://pj.example.cn")
    pusher.broker = broker
    return pusher


def ack_all(push):
    for mid, _, _ in push.broker.published:
        push.published(mid)


def test_a_confirmed_kiosk_gets_its_config_and_it_counts_once_acknowledged(push, store, clock):
    push.run()
    [config] = push.broker.configs("k1")
    assert config.title == "社保窗口"
    assert [c["id"] for c in config.roster] == ["1024"], "active clerks of the site with a PIN only"
    assert push.broker.configs("k9") == []
    link = urlsplit(config.comment_url)
    assert (link.scheme, link.netloc, link.path) == ("https", "pj.example.cn", "/c/w03")
    check_token("the-secret", parse_qs(link.query)["t"][0], "w03", clock.now())
    assert store.registry.device("k1")["config_sent"] is None, "not before the broker acknowledged it"
    ack_all(push)
    row = store.registry.device("k1")
    assert row["config_sent"] and row["config_sent_at"] == to_ms(clock.now())


def test_nothing_is_sent_again_until_something_changes(push, store, clock):
    push.run()
    ack_all(push)
    for _ in range(5):
        clock.advance(2)
        push.run()
    assert len(push.broker.published) == 1
    store.db.execute("UPDATE windows SET title = '社保 · 医保' WHERE window = 'w03'")
    clock.advance(2)
    push.run()
    assert [c.title for c in push.broker.configs("k1")] == ["社保窗口", "社保 · 医保"]
    ack_all(push)
    store.db.execute("UPDATE staff SET pin_hash = ? WHERE staff = '1031'", (PIN,))
    clock.advance(2)
    push.run()
    assert [c["id"] for c in push.broker.configs("k1")[-1].roster] == ["1024", "1031"]


def test_it_looks_at_the_registry_at_most_every_1_5_seconds(push, store, clock):
    assert push.due()
    push.run()
    assert not push.due()
    clock.advance(1.4)
    assert not push.due()
    clock.advance(0.1)
    assert push.due()


def test_the_token_is_refreshed_after_an_hour(push, store, clock):
    push.run()
    ack_all(push)
    first = push.broker.configs("k1")[0].comment_url
    clock.advance(3600 - 2)
    push.run()
    assert len(push.broker.published) == 1
    clock.advance(2)
    push.run()
    assert len(push.broker.published) == 2
    fresh = push.broker.configs("k1")[1].comment_url
    assert fresh != first
    check_token("the-secret", parse_qs(urlsplit(fresh).query)["t"][0], "w03", clock.now())


def test_without_a_public_url_there_is_no_link_and_no_refresh(store, clock):
    broker = FakeBroker()
    pusher = ConfigPush(store, clock, broker.publish, "the-secret", None)
    pusher.run()
    pusher.published(1)
    assert broker.configs("k1")[0].comment_url is None
    clock.advance(3 * 3600)
    pusher.run()
    assert len(broker.published) == 1


def test_an_unacknowledged_config_is_sent_again_after_30_s(push, store, clock):
    push.run()
    clock.advance(2)
    push.run()
    assert len(push.broker.published) == 1, "still in flight"
    clock.advance(30)
    push.run()
    assert len(push.broker.published) == 2
    push.published(2)
    assert store.registry.device("k1")["config_sent"]


def test_a_publish_paho_could_not_take_is_tried_again(push, store, clock):
    push.broker.up = False
    push.run()
    push.broker.up = True
    clock.advance(2)
    push.run()
    assert len(push.broker.configs("k1")) == 1


def test_a_device_moved_to_another_window_gets_that_windows_config(push, store, clock):
    push.run()
    ack_all(push)
    store.ingest.register_device("k1", "w04", 0)
    clock.advance(2)
    push.run()
    config = push.broker.configs("k1")[-1]
    assert config.title == "4号窗口" and config.comment_url.split("?")[0].endswith("/c/w04")
    assert config.roster == (), "w04 is in no site yet"
