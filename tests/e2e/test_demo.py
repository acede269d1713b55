"""`ceval demo` as a user runs it: a URL printed, windows filling up, a clean stop on Ctrl-C."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import date, timedelta

import pytest

from ceval.demo.broker import free_port
from ceval.demo.hall import DEMO_PIN, _demo_token, public_url

from ..helpers import ROOT, wait_for


@pytest.mark.parametrize("broker_flag", [[], ["--embedded-broker"]], ids=["mosquitto", "embedded"])
def test_demo_prints_the_url_and_its_kiosks_report(tmp_path, broker_flag):
    port = free_port()
    out = tmp_path / "demo.out"
    with open(out, "w") as sink:
        demo = subprocess.Popen([sys.executable, "-m", "ceval.main", "demo", "--dir", str(tmp_path / "hall"),
                                 "--listen", f"127.0.0.1:{port}", "--kiosks", "3", "--pace", "20", *broker_flag],
                                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "dashboard:" in out.read_text(), 60, "the dashboard URL")
        text = out.read_text()
        url = re.search(r"dashboard: (\S+)", text).group(1)
        token = re.search(r"Bearer (\S+)'", text).group(1)
        assert url == f"http://127.0.0.1:{port}/"

        def rated_windows():
            request = urllib.request.Request(url + "api/v1/windows", headers={"Authorization": f"Bearer {token}"})
            windows = json.loads(urllib.request.urlopen(request, timeout=5).read())
            return len(windows) == 3 and all(w["online"] and w["staff"] for w in windows) and windows

        wait_for(rated_windows, 60, "three online windows with their clerks")
        # three months of history: last month is full, its comments Chinese, its bad reviews have cases
        last_month_end = date.today().replace(day=1) - timedelta(days=1)
        request = urllib.request.Request(
            f"{url}api/v1/windows/w02/summary?from={last_month_end.replace(day=1)}&to={last_month_end}",
            headers={"Authorization": f"Bearer {token}"})
        month = json.loads(urllib.request.urlopen(request, timeout=5).read())
        assert month["ratings"]["total"] > 300 and month["absences"]["count"] > 10 and month["feedback"]["count"]
        assert f"PIN {DEMO_PIN}" in text and "1024 张敏" in text and "Ctrl-C to stop" in text
        assert "listening on 127.0.0.1 only" in text and str(tmp_path / "hall") in text
        user, password = re.search(r"log in as (\S+) / (\S+)\)", text).groups()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        form = browser.open(url + "login", timeout=5).read().decode()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode({"username": user, "password": password, "csrf_token": csrf}).encode()
        page = browser.open(url + "login", data=data, timeout=5).read().decode()
        assert "1号窗口 · 社保" in page and "3号窗口 · 公积金" in page and "张敏" in page
        lobby = re.search(r"lobby: +(\S+)", text).group(1)
        board = json.loads(urllib.request.urlopen(lobby + ".json", timeout=5).read())
        assert [w["staff_name"] for w in board["windows"]] == ["张敏", "王磊", "李娜"]
    finally:
        demo.send_signal(signal.SIGINT)
        assert demo.wait(30) == 0, out.read_text()


def test_the_demo_keeps_one_api_token_across_restarts(tmp_path):
    db = tmp_path / "ceval.sqlite3"
    token = _demo_token(db)
    assert _demo_token(db) == token
    assert (tmp_path / "demo-token.txt").stat().st_mode & 0o077 == 0


def test_the_qr_codes_point_where_phones_reach_the_demo():
    url, note = public_url("0.0.0.0", 8080)
    assert url.startswith("http://") and url.endswith(":8080/") and "127.0.0.1" not in url and note is None
    url, note = public_url("127.0.0.1", 8080)
    assert url == "http://127.0.0.1:8080/" and "0.0.0.0:8080" in note
