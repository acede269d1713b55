#!/usr/bin/env bash
# counter-eval server on Debian 12: Mosquitto with the broker config of deploy/mosquitto (no anonymous
# access, accounts and ACL), the `ceval` user, the server from this repository in a venv, its broker
# account and settings, the systemd units (ceval-server.service: collector and web app in one process;
# a nightly backup timer), and chrony as the hall's time server for the kiosks.
#
# Usage: sudo deploy/server/setup.sh [options]
#
#   --source PATH      a checkout of counter-eval or a wheel (.whl) to install (default: this checkout)
#   --listen HOST:PORT where the web app listens (default 127.0.0.1:8080, for a reverse proxy in front;
#                      0.0.0.0:8080 to serve the hall's network directly)
#   --kiosk-net CIDR   the kiosks' network, allowed to sync their clocks from this server (chrony), e.g.
#                      10.0.0.0/24 (default: none; the kiosks then need another time server)
#   --tls DIR          also enable the TLS listener (port 8883) with the certificates deploy/tls/make-certs.sh
#                      made in DIR (ca.crt, crl.pem, server.crt, server.key)
#   --dry-run          print every step and command, change nothing (no root needed)
#   -h, --help         this text
#
# Run it again to upgrade: it keeps the settings, the accounts and the database, installs the new
# version into the venv and restarts the server.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PREFIX=/opt/counter-eval
VENV="$PREFIX/venv"
ETC=/etc/ceval
DATA=/var/lib/ceval
BACKUPS=/var/backups/ceval
BROKER_DIR=/etc/mosquitto/ceval
USER_NAME=ceval
# mosquitto-clients: mosquitto_sub/pub to look at the broker when troubleshooting; sqlite3: the same for
# the database; chrony: this server's clock, and the kiosks' time server.
PACKAGES=(python3 python3-venv mosquitto mosquitto-clients chrony sqlite3)

SOURCE="$REPO"
LISTEN=127.0.0.1:8080
KIOSK_NET=""
TLS_DIR=""
DRY=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
# shellcheck source=../setup-lib.sh
source "$HERE/../setup-lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --source) [ $# -ge 2 ] || die "--source needs a checkout or a wheel"; SOURCE="$2"; shift ;;
    --listen) [ $# -ge 2 ] || die "--listen needs HOST:PORT"; LISTEN="$2"; shift ;;
    --kiosk-net) [ $# -ge 2 ] || die "--kiosk-net needs a network like 10.0.0.0/24"; KIOSK_NET="$2"; shift ;;
    --tls) [ $# -ge 2 ] || die "--tls needs the folder of make-certs.sh"; TLS_DIR="$2"; shift ;;
    --dry-run) DRY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

[[ "$LISTEN" =~ ^[^:]*:[0-9]+$ ]] || die "--listen $LISTEN is not HOST:PORT"
[ -z "$KIOSK_NET" ] || [[ "$KIOSK_NET" =~ ^[0-9a-fA-F:.]+/[0-9]+$ ]] || die "--kiosk-net $KIOSK_NET is not a network like 10.0.0.0/24"
if [ -n "$TLS_DIR" ]; then
  for f in ca.crt crl.pem server.crt server.key; do [ -f "$TLS_DIR/$f" ] || die "--tls $TLS_DIR: no $f there (deploy/tls/make-certs.sh)"; done
fi
check_source "$SOURCE"
[ -f "$REPO/deploy/mosquitto/ceval.conf" ] || die "no deploy/mosquitto/ceval.conf in $REPO"
if [ "$DRY" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then die "run as root (or try --dry-run)"; fi

missing() { [ "$DRY" -eq 1 ] || [ ! -e "$1" ]; }

step "packages: ${PACKAGES[*]}"
run env DEBIAN_FRONTEND=noninteractive apt-get update -q
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}"

step "the service user $USER_NAME (no login) and its folders $DATA, $BACKUPS"
if [ "$DRY" -eq 1 ] || ! id "$USER_NAME" >/dev/null 2>&1; then
  run useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
run install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$DATA" "$BACKUPS"

step "the server in a venv: $VENV, pip install ${SOURCE}[server]"
run install -d -m 0755 "$PREFIX"
if missing "$VENV/bin/python"; then run python3 -m venv "$VENV"; fi
run "$VENV/bin/python" -m pip install -q --upgrade pip
run "$VENV/bin/python" -m pip install -q "${SOURCE}[server]"
run "$VENV/bin/ceval" --version

step "broker: deploy/mosquitto/mosquitto.conf and ceval.conf (no anonymous access; passwd and acl in $BROKER_DIR)"
run install -d -m 0750 -o mosquitto -g mosquitto /var/lib/mosquitto /var/log/mosquitto
if [ -f "$REPO/deploy/mosquitto/mosquitto.conf" ]; then
  run install -m 0644 "$REPO/deploy/mosquitto/mosquitto.conf" /etc/mosquitto/mosquitto.conf
fi
run install -m 0644 "$REPO/deploy/mosquitto/ceval.conf" /etc/mosquitto/conf.d/ceval.conf
run install -d -m 0750 -o root -g mosquitto "$BROKER_DIR"
if [ -n "$TLS_DIR" ]; then
  run install -d -m 0750 -o root -g mosquitto /etc/mosquitto/certs
  run install -m 0644 -o root -g mosquitto "$TLS_DIR/ca.crt" "$TLS_DIR/crl.pem" "$TLS_DIR/server.crt" /etc/mosquitto/certs/
  run install -m 0640 -o root -g mosquitto "$TLS_DIR/server.key" /etc/mosquitto/certs/
  run install -m 0644 "$REPO/deploy/mosquitto/ceval.d/tls.conf.example" /etc/mosquitto/conf.d/tls.conf
fi

step "the collector's broker account: $ETC/collector.env (CEVAL_MQTT_USERNAME / CEVAL_MQTT_PASSWORD, root only)"
run install -d -m 0755 "$ETC"
# It writes $BROKER_DIR/passwd and acl too, which Mosquitto needs to start. Kept when it exists: a new
# password is `ceval broker account collector ...` again (docs/operations.md, "Rotate credentials").
if missing "$ETC/collector.env" || missing "$BROKER_DIR/passwd"; then
  run "$VENV/bin/ceval" broker account collector --broker-dir "$BROKER_DIR" --out "$ETC/collector.env"
fi
# a city's kiosks need more connections than systemd's default file limit lets the broker hold
run install -d -m 0755 /etc/systemd/system/mosquitto.service.d
run install -m 0644 "$REPO/deploy/systemd/mosquitto.service.d/ceval-limits.conf" \
  /etc/systemd/system/mosquitto.service.d/ceval-limits.conf
run systemctl daemon-reload
run systemctl restart mosquitto.service

step "settings: $ETC/server.env (root:$USER_NAME 0640; kept when it exists)"
if missing "$ETC/server.env"; then
  write_file "$ETC/server.env" 0640 "root:$USER_NAME" <<EOF
# counter-eval server settings: the environment of ceval-server.service (docs/operations.md lists them all).
CEVAL_BROKER=mqtt://127.0.0.1:1883
CEVAL_LISTEN=$LISTEN
CEVAL_SERVER_OPTIONS=--strict
# where phones reach the comment form (kiosks then show a QR code); behind N reverse proxies: CEVAL_PROXIES=N
# CEVAL_PUBLIC_URL=https://hall.example.gov.cn
# CEVAL_PROXIES=1
# CEVAL_TLS=1
# e-mail for alerts and scheduled reports
# CEVAL_SMTP_HOST=smtp.example.gov.cn
# CEVAL_SMTP_PORT=587
# CEVAL_SMTP_USER=ceval
# CEVAL_SMTP_PASSWORD=...
# CEVAL_SMTP_FROM=ceval@example.gov.cn
# CEVAL_SMTP_STARTTLS=1
EOF
fi

step "systemd units: ceval-server.service (collector and web app, one process), ceval-backup.timer (nightly)"
for unit in ceval-server.service ceval-backup.service ceval-backup.timer; do
  run install -m 0644 "$REPO/deploy/systemd/$unit" "/etc/systemd/system/$unit"
done
run systemctl daemon-reload
run systemctl enable ceval-server.service ceval-backup.timer
run systemctl restart ceval-server.service
run systemctl start ceval-backup.timer

step "time: chrony${KIOSK_NET:+, serving the kiosk network $KIOSK_NET}"
if [ -n "$KIOSK_NET" ]; then
  write_file /etc/chrony/conf.d/ceval.conf 0644 root:root <<EOF
# counter-eval: the kiosks ($KIOSK_NET) sync their clocks from this server (deploy/pi/setup.sh --ntp).
allow $KIOSK_NET
# still serve time while the hall has no internet, from this server's own clock
local stratum 10
EOF
fi
run systemctl enable chrony.service
run systemctl restart chrony.service

step "done"
cat <<EOF
    next: an admin account for the web app, then a kiosk per window (docs/operations.md):
      sudo -u $USER_NAME $VENV/bin/ceval user add admin --role admin --db $DATA/ceval.sqlite3
      sudo $VENV/bin/ceval device add k-w01 --window w01 --db $DATA/ceval.sqlite3 --broker mqtt://SERVER:1883 --out k-w01.toml
      sudo systemctl reload mosquitto
EOF
