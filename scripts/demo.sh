#!/usr/bin/env bash
# Runs the product on this machine: a broker, the server and simulated kiosks; prints the dashboard URL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/ceval" demo "$@"
