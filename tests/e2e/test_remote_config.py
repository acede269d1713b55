"""Remote configuration end to end: a manager saves a window's kiosk settings in the web app, and the
kiosk at that window, connected to the real broker, applies them within 2 s."""
from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from device.runtime import KioskRuntime
from shared.contract import DEFAULT_LABELS, parse_config

from ..helpers import ServerProcess, ceval, kiosk_settings, query, wait_for


class Browser:
    """A user's browser as far as forms go: cookies kept, the CSRF token taken from the last page."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.page = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            self.page = response.read().decode()
        return self.page

    def post(self, path: str, form: dict) -> tuple[int, str]:
        """Submit a form from the page last opened; (status, the page it ends on)."""
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.page)[1]
        data = urllib.parse.urlencode({**form, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + path, data, timeout=10) as response:
                self.page = response.read().decode()
                return response.status, self.page
        except urllib.error.HTTPError as exc:
            self.page = exc.read().decode()
            return exc.code, self.page

    def log_in(self, username: str, password: str) -> None:
        self.get("/login")
        status, page = self.post("/login", {"username": username, "password": password})
        assert status == 200 and 'name="password"' not in page, f"{username} could not log in"


def add_user(server: ServerProcess, name: str, *args: str) -> None:
    result = ceval("user", "add", name, *args, "--db", str(server.db), input=f"{name} password\n")
    assert result.returncode == 0, result.stderr


def test_a_config_saved_in_the_web_app_reaches_the_running_kiosk_within_2_s(tmp_path, broker):
    server = ServerProcess(tmp_path / "ceval.sqlite3", broker.url).start()
    kiosk = KioskRuntime(kiosk_settings(tmp_path / "kiosk", broker.url, "k-remote", "w61"))
    try:
        kiosk.start()
        wait_for(lambda: query(server.db, "SELECT 1 FROM windows WHERE window = 'w61' AND device = 'k-remote'"),
                 10, "the kiosk's window to appear")
        add_user(server, "root", "--role", "admin")
        add_user(server, "zhang", "--role", "manager", "--sites", "hall-r")

        # the admin sets up the hall as the registry pages let them: site, kiosk, window, clerk
        admin = Browser(server.url)
        admin.log_in("root", "root password")
        admin.get("/admin/sites")
        assert admin.post("/admin/sites", {"site": "hall-r", "name": "市民服务中心", "timezone": "Asia/Shanghai"})[0] == 200
        admin.get("/admin/devices")
        assert admin.post("/admin/devices/k-remote", {"window": "w61"})[0] == 200
        admin.get("/admin/staff")
        assert admin.post("/admin/staff", {"staff": "1024", "name": "张敏", "site": "hall-r", "pin": "246810"})[0] == 200
        admin.get("/admin/windows")
        assert admin.post("/admin/windows/w61", {"title": "61号窗口", "site": "hall-r", "clerk": ""})[0] == 200
        wait_for(lambda: [c["id"] for c in kiosk.kiosk.config.roster] == ["1024"], 5, "the registry on the kiosk")
        assert kiosk.kiosk.config.scale == 5 and kiosk.kiosk.config.language == "zh"

        # the manager of the hall changes the kiosk's settings
        manager = Browser(server.url)
        manager.log_in("zhang", "zhang password")
        page = manager.get("/admin/windows")
        assert 'href="/admin/windows/w61/kiosk"' in page
        page = manager.get("/admin/windows/w61/kiosk")
        assert "评价器 k-remote：" in page
        form = {"title": "不动产登记 · 61", "clerk": "1024", "scale": "3", "language": "en",
                "away_text": "Back in a moment · 马上回来", "reasons": "slow 办理时间长\nqueue 排队太久",
                "phrases": "办得很快\nThank you"}
        status, page = manager.post("/admin/windows/w61/kiosk", form)
        saved = time.monotonic()
        assert status == 200 and "已保存窗口 w61 的评价器设置" in page

        def applied():
            config = kiosk.kiosk.config
            return (config.title, config.scale, config.language, config.away_text) == (
                "不动产登记 · 61", 3, "en", "Back in a moment · 马上回来")

        wait_for(applied, 2.0, "the kiosk to apply the saved config")
        assert time.monotonic() - saved <= 2.0
        config = kiosk.kiosk.config
        assert config.staff == {"id": "1024", "name": "张敏"}
        assert config.labels == DEFAULT_LABELS[3]
        assert config.reasons == ({"code": "slow", "label": "办理时间长"}, {"code": "queue", "label": "排队太久"})
        assert config.phrases == ("办得很快", "Thank you")
        assert parse_config((tmp_path / "kiosk" / "config.json").read_bytes()) == config, "kept for the next start"

        wait_for(lambda: "已发送" in manager.get("/admin/windows/w61/kiosk"), 5, "the page to say it was sent")

        # a refused save changes nothing on the kiosk
        manager.get("/admin/windows/w61/kiosk")
        status, page = manager.post("/admin/windows/w61/kiosk", {**form, "scale": "7", "title": "不该出现"})
        assert status == 400 and "评价等级须为 3、4 或 5 级" in page
        assert query(server.db, "SELECT title FROM windows WHERE window = 'w61'") == [("不动产登记 · 61",)]
    finally:
        kiosk.stop()
        server.stop()
