"""Every shell script passes shellcheck; the Pi and server setup scripts' dry runs print their steps and
change nothing (every command they would run is a trap on PATH that records being called)."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from .units import ROOT, UNIT_DIR

PI_SETUP = ROOT / "deploy" / "pi" / "setup.sh"
SERVER_SETUP = ROOT / "deploy" / "server" / "setup.sh"
# What the scripts run for real: in a dry run none of these may start.
TRAPPED = ("apt-get", "useradd", "usermod", "gpasswd", "systemctl", "timedatectl", "install", "python3", "chown",
           "chmod", "mv", "findmnt", "mosquitto_passwd")


def shell_scripts() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.sh"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return sorted(ROOT / name for name in listed if (ROOT / name).is_file())


def test_the_setup_scripts_are_among_the_scripts_checked():
    scripts = shell_scripts()
    assert PI_SETUP in scripts and SERVER_SETUP in scripts and ROOT / "scripts" / "bootstrap.sh" in scripts


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_shellcheck_passes(script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed (scripts/bootstrap.sh installs it)"
    # -x follows `source`d files; SCRIPTDIR finds bootstrap.sh beside demo.sh and test.sh.
    result = subprocess.run([shellcheck, "-x", "--source-path=SCRIPTDIR", str(script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def dry_run(tmp_path: Path, script: Path, *args: str) -> str:
    traps = tmp_path / "traps"
    traps.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    for name in TRAPPED:
        trap = traps / name
        trap.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit 1\n')
        trap.chmod(trap.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{traps}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(script), "--dry-run", *args], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert not calls.exists(), f"the dry run ran: {calls.read_text()}"
    return result.stdout


def steps(output: str) -> list[str]:
    return re.findall(r"^==> step \d+: (.*)$", output, re.M)


def commands(output: str) -> list[str]:
    return re.findall(r"^    \+ (.*)$", output, re.M)


def installed_units(output: str) -> set[str]:
    return set(re.findall(r"deploy/systemd/(\S+) /etc/systemd/system/", output))


# ---------------------------------------------------------------- the Pi
def test_pi_dry_run_prints_every_step(tmp_path):
    out = dry_run(tmp_path, PI_SETUP, "--ntp", "10.0.0.2")
    titles = steps(out)
    for word in ("packages", "kiosk user", "touch input provider", "venv", "config", "persistent storage",
                 "systemd units", "consoleblank=0", "time sync"):
        assert any(word in t for t in titles), (word, titles)
    cmds = commands(out)
    apt = next(c for c in cmds if "apt-get install" in c).split()
    for package in ("fonts-wqy-microhei", "cage", "python3-venv", "systemd-timesyncd", "libpam-systemd"):
        assert package in apt, package
    assert any(c.startswith("useradd --system") and c.endswith(" ceval-kiosk") for c in cmds)
    assert f"/opt/counter-eval/venv/bin/python -m pip install -q {ROOT}[device] lgpio" in cmds
    assert installed_units(out) == {"ceval-kiosk.service"}
    assert "systemctl enable ceval-kiosk.service" in cmds
    assert "systemctl set-default graphical.target" in cmds
    assert "add consoleblank=0 to /boot/firmware/cmdline.txt (one line; kept once)" in cmds
    assert "      | GPIOZERO_PIN_FACTORY=lgpio" in out.splitlines()
    assert "install -d -m 0750 -o ceval-kiosk -g ceval-kiosk /var/lib/ceval-kiosk" in cmds
    assert any(c.startswith("findmnt") and "/var/lib/ceval-kiosk" in c for c in cmds)
    assert "write /etc/pam.d/ceval-kiosk (mode 0644, root:root)" in cmds
    assert "      | NTP=10.0.0.2" in out.splitlines()
    assert "systemctl enable systemd-timesyncd.service" in cmds
    assert "timedatectl set-ntp true" in cmds
    assert "gpasswd -d ceval-kiosk input" in cmds


def test_pi_dry_run_without_hardware_skips_what_needs_the_pi(tmp_path):
    out = dry_run(tmp_path, PI_SETUP, "--no-hardware", "--with-tests")
    cmds = commands(out)
    assert not any("cmdline.txt" in c or c.startswith(("findmnt", "timedatectl", "systemctl daemon-reload"))
                   for c in cmds)
    assert out.count("(skipped: no-hardware") == 4
    assert any(c.endswith(f"{ROOT}[device,dev] lgpio") for c in cmds)
    assert "mosquitto" in next(c for c in cmds if "apt-get install" in c).split()
    assert "systemctl enable ceval-kiosk.service" in cmds  # offline: symlinks only


def test_pi_dry_run_headless_installs_the_headless_unit(tmp_path):
    out = dry_run(tmp_path, PI_SETUP, "--headless")
    assert installed_units(out) == {"ceval-kiosk-headless.service"}
    assert "pam.d" not in out and "consoleblank=0 to" not in out


def test_pi_setup_copies_the_given_kiosk_config(tmp_path):
    config = tmp_path / "k-w07.toml"
    config.write_text('device = "k-w07"\n')
    out = dry_run(tmp_path, PI_SETUP, "--config", str(config))
    assert f"install -m 0640 -o root -g ceval-kiosk {config} /etc/ceval/kiosk.toml" in commands(out)


def test_pi_setup_prints_its_venv_and_refuses_bad_arguments(tmp_path):
    venv = subprocess.run(["bash", str(PI_SETUP), "--print-venv"], capture_output=True, text=True, timeout=30)
    assert venv.stdout.strip() == "/opt/counter-eval/venv"
    for args, message in [(["--bogus"], "unknown argument"), (["--config", str(tmp_path / "none.toml")], "no such file"),
                          (["--source", str(tmp_path)], "no pyproject.toml")]:
        result = subprocess.run(["bash", str(PI_SETUP), "--dry-run", *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)


def test_the_units_the_scripts_install_exist():
    for script in (PI_SETUP, SERVER_SETUP):
        for name in re.findall(r"ceval-[a-z-]+\.(?:service|timer)", script.read_text()):
            assert (UNIT_DIR / name).is_file(), (script.name, name)


# ---------------------------------------------------------------- the server
def test_server_dry_run_prints_every_step(tmp_path):
    out = dry_run(tmp_path, SERVER_SETUP, "--kiosk-net", "10.0.0.0/24", "--listen", "0.0.0.0:8080")
    titles = steps(out)
    for word in ("packages", "service user", "venv", "broker", "broker account", "settings", "systemd units",
                 "chrony"):
        assert any(word in t for t in titles), (word, titles)
    cmds = commands(out)
    apt = next(c for c in cmds if "apt-get install" in c).split()
    assert {"mosquitto", "chrony", "python3-venv"} <= set(apt)
    assert any(c.startswith("useradd --system") and c.endswith(" ceval") for c in cmds)
    assert f"/opt/counter-eval/venv/bin/python -m pip install -q {ROOT}[server]" in cmds
    assert f"install -m 0644 {ROOT}/deploy/mosquitto/ceval.conf /etc/mosquitto/conf.d/ceval.conf" in cmds
    assert ("/opt/counter-eval/venv/bin/ceval broker account collector --broker-dir /etc/mosquitto/ceval "
            "--out /etc/ceval/collector.env") in cmds
    assert installed_units(out) == {"ceval-server.service", "ceval-backup.service", "ceval-backup.timer",
                                   "mosquitto.service.d/ceval-limits.conf"}
    assert "systemctl enable ceval-server.service ceval-backup.timer" in cmds
    lines = out.splitlines()
    assert "      | CEVAL_LISTEN=0.0.0.0:8080" in lines
    assert "      | allow 10.0.0.0/24" in lines
    assert "tls.conf" not in out


def test_server_dry_run_with_tls_installs_the_listener(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca.crt", "crl.pem", "server.crt", "server.key"):
        (certs / name).write_text("x")
    cmds = commands(dry_run(tmp_path, SERVER_SETUP, "--tls", str(certs)))
    assert f"install -m 0640 -o root -g mosquitto {certs}/server.key /etc/mosquitto/certs/" in cmds
    assert (f"install -m 0644 {ROOT}/deploy/mosquitto/ceval.d/tls.conf.example /etc/mosquitto/conf.d/tls.conf"
            in cmds)


def test_server_setup_refuses_bad_arguments(tmp_path):
    for args, message in [(["--listen", "8080"], "HOST:PORT"), (["--kiosk-net", "hall"], "network"),
                          (["--tls", str(tmp_path)], "no ca.crt")]:
        result = subprocess.run(["bash", str(SERVER_SETUP), "--dry-run", *args], capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
