"""Clerks' PINs on the staff page (issue 11): 6 to 8 digits, and an old weak hash marked "must be reset".

A hash of the first version (PBKDF2 of a 4-digit PIN: every PIN tried in 4 minutes on one core) is
no longer sent to kiosks; the staff page says which clerks need a new PIN, and a new one is sent.
"""
from __future__ import annotations

import hashlib

import pytest

from server.domain.kiosk_config import Clerk, Target, build_config
from server.domain.passwords import hash_password
from server.store import Store
from shared.pins import is_strong_pin_hash, verify_pin

from .web import PASSWORD, As

SALT = bytes(16)
OLD_HASH = f"pbkdf2_sha256$100000${SALT.hex()}${hashlib.pbkdf2_hmac('sha256', b'2468', SALT, 100_000).hex()}"


@pytest.fixture
def seed_store(blank_store):
    s = blank_store
    s.accounts.create_user("hq-boss", hash_password(PASSWORD), "manager", ["hq"], 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_clerk("1024", "张三", "hq", OLD_HASH)  # set before the upgrade
    s.registry.create_clerk("1031", "王五", "hq", None)


def roster_sent(store: Store) -> list[str]:
    rows = [Clerk(staff, name, pin_hash) for staff, name, pin_hash in store.kiosk_config.site_roster("hq")]
    return [c["id"] for c in build_config(Target("k1", "w01", "1号窗口", "hq"), rows, None).roster]


def test_an_old_pin_is_marked_for_reset_and_kept_from_kiosks_until_reset(app, store):
    manager = As(app, "hq-boss")
    page = manager.get("/admin/staff").get_data(as_text=True)
    row = page[page.index('data-staff="1024"'):].split("</tr>")[0]
    assert "须重新设置" in row and "已设置" not in row
    assert "须重新设置" not in page[page.index('data-staff="1031"'):].split("</tr>")[0]
    assert "PIN 码为 6 到 8 位数字" in page
    assert verify_pin("2468", OLD_HASH), "a kiosk that still has it lets the clerk sign in"
    assert roster_sent(store) == [], "the server no longer sends it"

    assert manager.post("/admin/staff/1024/pin", {"pin": "97531024", "pin_again": "97531024"}).status_code == 302
    assert is_strong_pin_hash(store.registry.clerk("1024")["pin_hash"])
    row = manager.get("/admin/staff").get_data(as_text=True)
    row = row[row.index('data-staff="1024"'):].split("</tr>")[0]
    assert "已设置" in row and "须重新设置" not in row
    assert roster_sent(store) == ["1024"]


def test_the_pin_form_asks_for_6_to_8_digits(app, store):
    page = As(app, "hq-boss").get("/admin/staff/1024").get_data(as_text=True)
    assert 'minlength="6" maxlength="8" pattern="[0-9]{6,8}"' in page and "6 到 8 位数字" in page


def test_in_english_too(app, store):
    manager = As(app, "hq-boss")
    manager.client.get("/lang/en?next=/admin/staff")
    page = manager.get("/admin/staff").get_data(as_text=True)
    assert "PIN must be reset" in page and "6 to 8 digits" in page
