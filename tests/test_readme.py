"""The README's promises, kept honest: its commands exist and do what it says."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from device.settings import load_settings

from .helpers import ROOT, ceval

README = (ROOT / "README.md").read_text(encoding="utf-8")


def quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_test_one():
    commands = quickstart_commands()
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    for command in commands:
        assert (ROOT / command.split()[1]).is_file()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["bash scripts/test.sh"]


@pytest.mark.parametrize("command", [[], ["server"], ["token", "create"], ["device", "add"], ["user", "add"],
                                     ["kiosk"], ["demo"], ["site", "list"], ["window", "add"], ["window", "list"]])
def test_every_command_has_help(command):
    result = ceval(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: ceval" in result.stdout


def test_the_example_kiosk_config_loads():
    settings = load_settings(ROOT / "deploy" / "kiosk.example.toml")
    assert (settings.device, settings.window, settings.ack_timeout) == ("k-w03", "w03", 10)


def test_bad_kiosk_configs_get_a_clear_error(tmp_path):
    bad = tmp_path / "kiosk.toml"
    for text, expected in [('device = "K 1"\nwindow = "w01"\nbroker = "mqtt://h:1"\ndata_dir = "."', "device"),
                           ('device = "k1"\nwindow = "w01"\nbroker = "http://h"\ndata_dir = "."', "broker URL"),
                           ('device = "k1"\nwindow = "w01"\nbroker = "mqtt://h:1"', "'data_dir' is required"),
                           ('device = "k1"\nwindow = "w01"\nbroker = "mqtt://h:1"\ndata_dir = "."\ncolour = 1', "colour"),
                           ("device = ", "not valid TOML")]:
        bad.write_text(text)
        result = ceval("kiosk", "--config", str(bad))
        assert result.returncode == 2 and expected in result.stderr, (text, result.stderr)


def test_the_screens_it_shows_exist_and_the_script_makes_them():
    shown = re.findall(r"\]\((docs/screens/[^)]+\.png)\)", README)
    assert any("kiosk-" in name for name in shown) and any("web-" in name for name in shown)
    script = (ROOT / "scripts" / "screenshots.py").read_text(encoding="utf-8")
    for name in shown:
        assert (ROOT / name).is_file(), name
        assert Path(name).stem.removeprefix("kiosk-").removeprefix("web-") in script or Path(name).name in script, \
            f"{name} is not renewed by scripts/screenshots.py"


def test_it_says_where_the_demo_listens_keeps_its_data_and_how_to_stop_it():
    start = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    for said in ("127.0.0.1:8080", "--listen 0.0.0.0:8080", "demo-data/", "Ctrl-C", ".venv/bin/ceval"):
        assert said in start, said
    assert "意见簿" not in README, "the navigation says 留言"
