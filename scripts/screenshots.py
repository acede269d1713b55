"""Regenerates the README's pictures in docs/screens/: four web pages from the demo's data (1280x800) and four
kiosk screens (`ceval kiosk --screenshot`). Run as `.venv/bin/python scripts/screenshots.py`; needs Debian's
Chromium (/usr/bin/chromium) and a CJK font, as the browser tests do."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from server.domain.periods import add_months  # noqa: E402  (the project's own month arithmetic)
from server.domain.zones import DEFAULT_ZONE

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "docs" / "screens"
CEVAL = Path(sys.executable).parent / "ceval"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_THIS_MONTH = date.today().replace(day=1)
_LAST_MONTH = f"from={add_months(_THIS_MONTH, -1)}&to={_THIS_MONTH - timedelta(days=1)}"  # a whole month of history
WEB = [("web-board-zh.png", "zh", "/"), ("web-window-en.png", "en", f"/windows/w03?{_LAST_MONTH}"),
       ("web-compare-zh.png", "zh", f"/compare?{_LAST_MONTH}"), ("web-cases-zh.png", "zh", "/cases")]
KIOSK = ["ready-800x480-zh", "rated-1280x800-en", "thanks-1024x600-zh", "away-800x480-en"]
LOGIN = re.compile(r"dashboard: (http://\S+?)/?\s+\(log in as (\S+) / (\S+)\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(workdir: Path) -> tuple[subprocess.Popen, str, str, str]:
    """The demo in `workdir`; its process, URL, user and password once it has printed them."""
    with open(workdir / "demo.out", "w+") as log:  # the demo writes to its own copy; we read the file by name
        demo = subprocess.Popen([str(CEVAL), "demo", "--dir", str(workdir / "demo"),
                                 "--listen", f"127.0.0.1:{free_port()}"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = LOGIN.search((workdir / "demo.out").read_text())
        if found:
            return demo, *found.groups()
        if demo.poll() is not None:
            break
        time.sleep(0.3)
    stop(demo)
    raise SystemExit(f"the demo did not start:\n{(workdir / 'demo.out').read_text()[-2000:]}")


def stop(demo: subprocess.Popen) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)


def web_shots(url: str, user: str, password: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                timezone_id=DEFAULT_ZONE)
        page.goto(f"{url}/login")
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")
        for name, lang, path in WEB:
            page.goto(f"{url}/lang/{lang}?next={quote(path)}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SCREENS / name))
            print(f"wrote docs/screens/{name}")
        browser.close()


def kiosk_shots(workdir: Path) -> None:
    out = workdir / "kiosk"
    done = subprocess.run([str(CEVAL), "kiosk", "--screenshot", str(out)], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit("`ceval kiosk --screenshot` failed: the kiosk pictures were not renewed")
    for screen in KIOSK:
        shutil.copyfile(out / f"{screen}.png", SCREENS / f"kiosk-{screen}.png")
        print(f"wrote docs/screens/kiosk-{screen}.png")


def main() -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ceval-screens-") as tmp:
        workdir = Path(tmp)
        demo, url, user, password = start_demo(workdir)
        try:
            web_shots(url, user, password)
        finally:
            stop(demo)
        kiosk_shots(workdir)


if __name__ == "__main__":
    main()
