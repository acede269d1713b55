"""Reading systemd unit files the way the tests need them: (section, key, value) in file order."""
from __future__ import annotations

import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT_DIR = ROOT / "deploy" / "systemd"
UNITS = sorted(p.name for p in UNIT_DIR.iterdir() if p.suffix in (".service", ".timer"))


def entries(name: str) -> list[tuple[str, str, str]]:
    section, found, pending = "", [], ""
    for raw in (UNIT_DIR / name).read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(name: str, section: str, key: str) -> list[str]:
    return [v for s, k, v in entries(name) if s == section and k == key]


def value(name: str, section: str, key: str) -> str:
    found = values(name, section, key)
    assert found, f"{name}: no {key}= in [{section}]"
    return found[-1]


def environment(name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for assignments in values(name, "Service", "Environment"):
        for word in shlex.split(assignments):
            key, _, val = word.partition("=")
            env[key] = val
    return env


def exec_argv(name: str) -> list[str]:
    """ExecStart as systemd runs it with the unit's own Environment= defaults: ${X} and $X replaced."""
    env = environment(name)
    argv = []
    for word in shlex.split(value(name, "Service", "ExecStart")):
        if word.startswith("${") and word.endswith("}"):
            argv.append(env[word[2:-1]])
        elif word.startswith("$") and not word.startswith("$$"):
            argv.extend(env[word[1:]].split())  # $X: split at whitespace, as systemd does
        else:
            argv.append(word)
    return argv
