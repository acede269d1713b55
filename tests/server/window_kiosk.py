"""The window kiosk settings tests' hall and what they check with: the page, a good form, the config a kiosk
would get."""
from __future__ import annotations

import re

from server.domain.kiosk_config import Clerk, Target, build_config
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from shared.contract import Config
from shared.pins import hash_pin

from .events import event, msg
from .web import PASSWORD

PIN = hash_pin("246810", salt=bytes(16))
PAGE = "/admin/windows/w01/kiosk"
GOOD = {"title": "1号窗口 · 社保", "clerk": "1024", "scale": "3", "labels_3_3": "很好", "labels_3_2": "",
        "labels_3_1": "不好", "labels_5_5": "这一组不用", "reasons": "slow 办理时间长\n\n  rude　态度 生硬  \n",
        "language": "en", "away_text": "  暂停服务   请到 2 号窗口 ", "phrases": "办得很快\n\n谢谢你们\n"}


def seed(s, clock) -> None:
    """Users root, hq-boss and look; w01 (kiosk k1, confirmed) in hq, w02 in east; clerks with PINs, 1031 inactive."""
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.accounts.create_user("hq-boss", hash_password(PASSWORD), "manager", ["hq"], 0)
    s.accounts.create_user("look", hash_password(PASSWORD), "viewer", None, 0)
    Ingestor(s, clock).handle([
        msg(event(1, score=5), device="k1"),
        msg(event(1, stream="stream-0002", window="w02", score=2), device="k2"),
    ])
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", False)
    s.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    s.registry.update_window("w01", "1号窗口", "hq")
    s.registry.update_window("w02", "2号窗口", "east")
    s.registry.create_clerk("1024", "张三", "hq", PIN)
    s.registry.create_clerk("1031", "赵六", "hq", PIN)
    s.registry.update_clerk("1031", "赵六", "hq", False)
    s.registry.create_clerk("2048", "李四", "east", PIN)
    s.registry.assign_device("k1", "w01", 0)


def alerts(response) -> list[str]:
    return re.findall(r'role="alert">([^<]*)<', response.get_data(as_text=True))


def window_row(store, window="w01") -> dict:
    return store.reports.window(window)


def kiosk_config_of(store, device="k1") -> Config:
    """The config the collector would send to `device` now (without a public URL)."""
    (row,) = [r for r in store.kiosk_config.config_targets() if r[0] == device]
    target = Target(*row)
    roster = [Clerk(*c) for c in store.kiosk_config.site_roster(target.site)] if target.site else []
    return build_config(target, roster, None)
