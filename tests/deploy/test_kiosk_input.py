"""On the Pi the kiosk keeps one Kivy input provider: Kivy's Linux default adds an evdev one
(`probesysfs`) beside `mouse`, and with both every touch arrives twice."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .units import ROOT

SCRIPT = """
import json
from kivy.config import Config
before = dict(Config.items("input"))
from device.fonts import find_cjk_font
from device.screen import configure_kivy
from device.settings import KioskSettings
configure_kivy(KioskSettings(device="k", window="w", broker="mqtt://h:1", data_dir="."), find_cjk_font())
print(json.dumps([before, dict(Config.items("input"))]))
"""


def test_configure_kivy_leaves_only_the_mouse_provider(tmp_path):
    env = {**os.environ, "KIVY_HOME": str(tmp_path), "KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.splitlines()[-1])
    assert "%(name)s" in before  # Kivy's default on Linux: the evdev provider is there to begin with
    assert after == {"mouse": "mouse,disable_on_activity,disable_multitouch"}
