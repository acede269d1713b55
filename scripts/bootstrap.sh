#!/usr/bin/env bash
# Installs what counter-eval needs on Debian 12 and prepares .venv; sourced by demo.sh and test.sh.
# System packages come from apt-get, only when missing; Python packages from PyPI into .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# mosquitto: the broker; fonts-wqy-microhei: Chinese on the kiosk and in screenshots; mesa and X
# libraries: Kivy's window (offscreen EGL where there is no screen); chromium: the browser tests
# (Playwright drives Debian's Chromium; it never downloads a browser of its own), libatomic1: Playwright's
# bundled node driver needs libatomic.so.1, which a minimal Debian 12 lacks; shellcheck, cage and
# systemd (systemd-analyze): tests/deploy checks every script and verifies the units against the real
# programs their ExecStart names.
PACKAGES=(mosquitto fonts-wqy-microhei libgl1 libegl1 libgl1-mesa-dri libx11-6 libxrender1 libmtdev1 chromium libatomic1
          shellcheck cage systemd)
missing=()
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "counter-eval needs these Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "installing ${missing[*]} with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi

stamp="$VENV/.installed"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing counter-eval and its Python packages into $VENV ..."
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e "${ROOT}[server,device,dev]"
  echo "$want" > "$stamp"
fi
