#!/usr/bin/env bash
# Runs the whole test suite; installs what it needs first (Debian 12, root for apt-get).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
