"""The layers (docs/architecture.md) hold: import-linter's contracts in pyproject.toml pass on the code, and
each fails on a copy of the code given one of the wrong-way imports the layout once had."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "device", "server", "ceval")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(command), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}, timeout=120)


def test_every_import_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and " 0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.png"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


WRONG_WAY = [
    # (module that gains the import, the import, the contract it breaks)
    ("server/jobs.py", "import device.main", "The command line on top, then the two sides"),
    ("device/core.py", "import server.store", "The command line on top, then the two sides"),
    ("shared/contract.py", "import server.catalogs", "The command line on top, then the two sides"),
    ("ceval/demo/hall.py", "import ceval.main", "The command line: main on top"),
    ("ceval/kiosk.py", "import ceval.serve", "The command line: main on top"),
    ("server/web/views/api.py", "import server.web.views.compare", "Web pages do not import each other"),
    ("server/store/cases.py", "import server.domain.cases", "The server's layers"),
    ("server/domain/figures.py", "import server.store", "The server's layers"),
    ("server/reporting/summary.py", "import server.web.context", "The server's layers"),
    ("server/reporting/exports.py", "import flask", "Only the web app speaks HTTP"),
    ("server/reporting/scheduled.py", "import flask_babel", "Only the web app speaks HTTP"),
    ("server/domain/hours.py", "import sqlite_utils", "Only the store speaks SQL"),
]


@pytest.mark.parametrize("module, line, contract", WRONG_WAY, ids=[f"{m}: {i}" for m, i, _ in WRONG_WAY])
def test_a_wrong_way_import_breaks_its_contract(copy, module, line, contract):
    path = copy / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # noqa\n")
    try:
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row for row in result.stdout.splitlines() if row.endswith(" BROKEN")]
    assert any(row.startswith(contract) for row in broken), result.stdout


def test_the_command_line_loads_neither_side_to_read_its_arguments():
    """A Pi has no Flask or sqlite-utils, a server no Kivy: `ceval` builds its parser without either side's
    libraries (server.domain.registry, .zones and .collector_group and server.ops.provision, stdlib only, give
    defaults and help texts)."""
    code = ("import sys; from ceval.main import build_parser; build_parser().parse_args(['kiosk', '--config', 'k.toml']);"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('device', 'server', 'flask', 'sqlite_utils', 'paho', 'kivy', 'gpiozero', 'waitress'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(loaded.stdout.split()) <= {"server", "server.domain", "server.domain.registry", "server.domain.zones",
                                          "server.domain.collector_group", "server.ops", "server.ops.provision"}, \
        loaded.stdout
