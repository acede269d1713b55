"""The systemd units in deploy/systemd: `systemd-analyze verify` passes, and they say what the issue asks.

How the units are verified honestly. `systemd-analyze verify` also checks that every ExecStart program
exists and is executable, and the units name the paths of an installed system (/opt/counter-eval/venv,
/usr/bin/cage), which this machine does not have. So each test builds a root in a temporary folder: the
system's own unit files (copied from /usr/lib/systemd/system, so sysinit.target and friends resolve),
our units in its /etc/systemd/system, and at every path an ExecStart names a copy of the real program:
the `ceval` entry point of this repository's venv (its first line runs the venv's Python: it is the same
program, and the test runs the copy to show it), cage and sh from this machine (scripts/bootstrap.sh
installs cage). `systemd-analyze verify --root=ROOT` then resolves every path inside that root. It exits 0
even for unknown keys (it only warns), so the tests also require it to print nothing. A control test
shows that a missing program does fail, so the check is not empty.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from ceval.main import build_parser

from .units import ROOT, UNIT_DIR, UNITS, entries, environment, exec_argv, value, values

SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
VENV_CEVAL = ROOT / ".venv" / "bin" / "ceval"
INSTALLED_CEVAL = "/opt/counter-eval/venv/bin/ceval"


def _programs(unit: str) -> set[str]:
    return {shlex.split(v)[0].lstrip("-@:+!") for s, k, v in entries(unit) if s == "Service" and k.startswith("Exec")}


def make_root(tmp_path: Path, units: list[str]) -> Path:
    root = tmp_path / "root"
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    (root / "usr" / "bin").mkdir()
    (root / "bin").symlink_to("usr/bin")  # merged /usr, as on Debian 12 and Raspberry Pi OS
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    for unit in units:
        shutil.copy(UNIT_DIR / unit, root / "etc" / "systemd" / "system" / unit)
        for program in _programs(unit):
            target = root / program.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if program == INSTALLED_CEVAL:
                assert VENV_CEVAL.is_file(), "the repository's venv has no ceval entry point (scripts/bootstrap.sh)"
                shutil.copy2(VENV_CEVAL, target)
            else:
                real = shutil.which(Path(program).name) or program
                assert Path(real).is_file(), f"{program} (named by {unit}) is not installed here: scripts/bootstrap.sh"
                shutil.copy2(Path(real).resolve(), target)
    return root


def verify(root: Path, *units: str) -> subprocess.CompletedProcess:
    return subprocess.run([SYSTEMD_ANALYZE, "verify", f"--root={root}", *units], capture_output=True, text=True,
                          timeout=120)


def test_there_are_units_for_the_kiosk_the_server_and_backups():
    assert {"ceval-kiosk.service", "ceval-kiosk-headless.service", "ceval-server.service", "ceval-backup.service",
            "ceval-backup.timer"} <= set(UNITS)


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_passes(tmp_path, unit):
    units = [unit] + (["ceval-backup.service"] if unit == "ceval-backup.timer" else [])
    root = make_root(tmp_path, units)
    result = verify(root, unit)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_the_ceval_in_the_test_root_is_the_real_program(tmp_path):
    root = make_root(tmp_path, ["ceval-server.service"])
    result = subprocess.run([str(root / INSTALLED_CEVAL.lstrip("/")), "--version"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("counter-eval "), result.stderr


def test_verify_fails_when_a_program_is_missing(tmp_path):
    root = make_root(tmp_path, ["ceval-server.service"])
    (root / INSTALLED_CEVAL.lstrip("/")).unlink()
    result = verify(root, "ceval-server.service")
    assert result.returncode != 0
    assert "is not executable" in result.stderr


def test_verify_output_catches_an_unknown_key(tmp_path):
    root = make_root(tmp_path, ["ceval-server.service"])
    path = root / "etc" / "systemd" / "system" / "ceval-server.service"
    path.write_text(path.read_text() + "WatchdogSecs=10\n")
    result = verify(root, "ceval-server.service")
    assert "Unknown key" in result.stderr  # exit status 0: hence the tests' check that nothing is printed


# ---------------------------------------------------------------- what the units say
def test_kiosk_runs_in_cage_on_tty1_restarts_always_and_has_a_watchdog():
    unit = "ceval-kiosk.service"
    assert value(unit, "Unit", "StartLimitIntervalSec") == "0"
    assert value(unit, "Service", "Restart") == "always"
    assert value(unit, "Service", "Type") == "notify"
    assert value(unit, "Service", "NotifyAccess") == "all"  # the kiosk is cage's child
    assert int(value(unit, "Service", "WatchdogSec")) > 0
    assert value(unit, "Service", "TTYPath") == "/dev/tty1"
    assert value(unit, "Service", "PAMName") == "ceval-kiosk"
    assert "getty@tty1.service" in value(unit, "Unit", "Conflicts")
    argv = exec_argv(unit)
    assert argv[:3] == ["/usr/bin/cage", "--", INSTALLED_CEVAL]
    args = build_parser().parse_args(argv[3:])
    assert (args.command, args.config, args.headless) == ("kiosk", "/etc/ceval/kiosk.toml", False)
    env = environment(unit)
    assert env["SDL_VIDEODRIVER"] == "wayland"
    assert env["GPIOZERO_PIN_FACTORY"] == "lgpio"
    assert value(unit, "Service", "User") == "ceval-kiosk"
    assert value(unit, "Service", "StateDirectory") == "ceval-kiosk"
    assert value(unit, "Service", "WorkingDirectory") == "/var/lib/ceval-kiosk"  # lgpio's pipes go in the cwd
    assert value(unit, "Service", "PrivateTmp") == "yes"
    assert value(unit, "Service", "NoNewPrivileges") == "yes"


def test_headless_kiosk_has_the_same_watchdog_and_a_read_only_system():
    unit = "ceval-kiosk-headless.service"
    assert value(unit, "Unit", "StartLimitIntervalSec") == "0"
    assert (value(unit, "Service", "Restart"), value(unit, "Service", "Type")) == ("always", "notify")
    assert int(value(unit, "Service", "WatchdogSec")) > 0
    args = build_parser().parse_args(exec_argv(unit)[1:])
    assert (args.command, args.config, args.headless) == ("kiosk", "/etc/ceval/kiosk.toml", True)
    assert value(unit, "Service", "ProtectSystem") == "strict"
    assert value(unit, "Service", "ReadWritePaths") == "/var/lib/ceval-kiosk"


def test_server_runs_collector_and_web_app_hardened():
    unit = "ceval-server.service"
    argv = exec_argv(unit)
    assert argv[0] == INSTALLED_CEVAL
    args = build_parser().parse_args(argv[1:])  # every flag the unit passes exists
    assert (args.command, args.db, args.broker, args.listen, args.strict) == (
        "server", "/var/lib/ceval/ceval.sqlite3", "mqtt://127.0.0.1:1883", ("127.0.0.1", 8080), True)
    assert value(unit, "Service", "User") == "ceval"
    assert value(unit, "Service", "ProtectSystem") == "strict"
    assert value(unit, "Service", "ReadWritePaths") == "/var/lib/ceval"
    assert value(unit, "Service", "PrivateTmp") == "yes"
    assert value(unit, "Service", "NoNewPrivileges") == "yes"
    assert value(unit, "Service", "Restart") == "always"
    assert "/etc/ceval/server.env" in " ".join(values(unit, "Service", "EnvironmentFile"))
    assert "mosquitto.service" in value(unit, "Unit", "After")


def test_backup_unit_runs_ceval_backup_into_one_file_per_weekday():
    unit = "ceval-backup.service"
    argv = exec_argv(unit)
    assert argv[:2] == ["/bin/sh", "-c"]
    command = shlex.split(argv[2].replace("$$", "$").replace("%%", "%"))
    assert command[:2] == ["exec", INSTALLED_CEVAL]
    args = build_parser().parse_args(command[2:])
    assert (args.command, args.db) == ("backup", "/var/lib/ceval/ceval.sqlite3")
    assert args.out == "/var/backups/ceval/ceval-$(date +%a).sqlite3"
    assert value(unit, "Service", "User") == "ceval"
    assert value("ceval-backup.timer", "Timer", "OnCalendar")


def test_the_broker_and_the_server_may_hold_a_city_of_connections():
    """systemd's default soft limit of 1,024 files would refuse the 1,021st kiosk of a city (issue 15): the
    broker's drop-in and the server's unit lift it; the server's setup installs the drop-in."""
    drop_in = "mosquitto.service.d/ceval-limits.conf"
    assert int(value(drop_in, "Service", "LimitNOFILE")) >= 20_000, "10,000 kiosks and their reconnects"
    assert int(value("ceval-server.service", "Service", "LimitNOFILE")) >= 20_000
    setup = (ROOT / "deploy" / "server" / "setup.sh").read_text()
    assert f'"$REPO/deploy/systemd/{drop_in}"' in setup
    assert setup.index(drop_in) < setup.index("systemctl restart mosquitto.service")
