#!/usr/bin/env bash
# counter-eval kiosk on a Raspberry Pi (Raspberry Pi OS Bookworm, 64-bit): packages and CJK font, the
# kiosk user, the kiosk from this repository in a venv, its config, the full-screen kiosk started by
# systemd in the cage compositor on tty1 (no desktop), screen blanking off, one touch input provider,
# the lgpio pin factory, the outbox on persistent storage, time sync.
#
# Usage: sudo deploy/pi/setup.sh [options]
#
#   --config FILE    the kiosk config made by `ceval device add ... --out FILE` on the server; copied to
#                    /etc/ceval/kiosk.toml (default: keep the one there, else copy deploy/kiosk.example.toml)
#   --source PATH    a checkout of counter-eval or a wheel (.whl) to install (default: this checkout)
#   --ntp SERVER     the time server to sync with, e.g. the hall's server (default: Debian's pool)
#   --headless       a kiosk without a screen (GPIO buttons only): ceval-kiosk-headless.service, no cage
#   --with-tests     also install the test tools (pip extra `dev`) and mosquitto: the arm64 check
#   --no-hardware    for a root without the Pi or a running systemd (the arm64 check under qemu):
#                    skip what needs the hardware or a booted system (see below)
#   --dry-run        print every step and command, change nothing (no root needed)
#   --print-venv     print the venv's path and exit
#   -h, --help       this text
#
# Steps that need the real Pi (skipped by --no-hardware): consoleblank=0 in the kernel command line
# (/boot/firmware/cmdline.txt), the check that /var/lib/ceval-kiosk is on persistent storage,
# `systemctl daemon-reload` / restart, `timedatectl set-ntp`. Everything else (packages, user, venv,
# config, unit files, enabling the units) runs the same in a root. A reboot starts the kiosk.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PREFIX=/opt/counter-eval
VENV="$PREFIX/venv"
ETC=/etc/ceval
DATA=/var/lib/ceval-kiosk
KIOSK_USER=ceval-kiosk
UNIT=ceval-kiosk.service
# python3-venv: the kiosk's venv; fonts-wqy-microhei: Chinese on the screen; cage: the Wayland kiosk
# compositor; Mesa, Wayland and X client libraries: what Kivy's bundled SDL2 opens; libmtdev1: Kivy's
# touch; systemd-timesyncd: the clock; dbus and libpam-systemd: the seat session cage gets from logind.
PACKAGES=(python3 python3-venv fonts-wqy-microhei cage libgl1 libegl1 libgl1-mesa-dri libwayland-client0
          libwayland-cursor0 libwayland-egl1 libxkbcommon0 libx11-6 libxrender1 libmtdev1 systemd-timesyncd
          dbus libpam-systemd)

CONFIG=""
SOURCE="$REPO"
NTP=""
HEADLESS=0
WITH_TESTS=0
HARDWARE=1
DRY=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
# shellcheck source=../setup-lib.sh
source "$HERE/../setup-lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || die "--config needs a file"; CONFIG="$2"; shift ;;
    --source) [ $# -ge 2 ] || die "--source needs a checkout or a wheel"; SOURCE="$2"; shift ;;
    --ntp) [ $# -ge 2 ] || die "--ntp needs a server"; NTP="$2"; shift ;;
    --headless) HEADLESS=1 ;;
    --with-tests) WITH_TESTS=1 ;;
    --no-hardware) HARDWARE=0 ;;
    --dry-run) DRY=1 ;;
    --print-venv) echo "$VENV"; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

[ "$HEADLESS" -eq 1 ] && UNIT=ceval-kiosk-headless.service
[ "$WITH_TESTS" -eq 1 ] && PACKAGES+=(mosquitto)
if [ -n "$CONFIG" ] && [ ! -f "$CONFIG" ]; then die "--config $CONFIG: no such file"; fi
check_source "$SOURCE"
if [ "$DRY" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then die "run as root (or try --dry-run)"; fi


step "packages: ${PACKAGES[*]}"
run env DEBIAN_FRONTEND=noninteractive apt-get update -q
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

step "the kiosk user $KIOSK_USER (no password, no login shell; groups video, render and gpio)"
if [ "$DRY" -eq 1 ] || ! id "$KIOSK_USER" >/dev/null 2>&1; then
  run useradd --system --user-group --create-home --home-dir "/home/$KIOSK_USER" --shell /usr/sbin/nologin \
    "$KIOSK_USER"
fi
for group in video render gpio; do
  if [ "$DRY" -eq 1 ] || getent group "$group" >/dev/null; then run usermod -a -G "$group" "$KIOSK_USER"; fi
done

step "one touch input provider: Kivy keeps only its 'mouse' provider (device/screen.py); $KIOSK_USER stays out of group input, so Kivy's evdev provider cannot read the touchscreen a second time"
if [ "$DRY" -eq 1 ] || id -nG "$KIOSK_USER" 2>/dev/null | grep -qw input; then
  run gpasswd -d "$KIOSK_USER" input
fi

step "the kiosk in a venv: $VENV, pip install ${SOURCE}[device] (and lgpio, the Pi 5's GPIO library)"
extras=device
[ "$WITH_TESTS" -eq 1 ] && extras=device,dev
run install -d -m 0755 "$PREFIX"
if [ "$DRY" -eq 1 ] || [ ! -x "$VENV/bin/python" ]; then run python3 -m venv "$VENV"; fi
run "$VENV/bin/python" -m pip install -q --upgrade pip
run "$VENV/bin/python" -m pip install -q "${SOURCE}[${extras}]" lgpio
run "$VENV/bin/ceval" --version

step "config: $ETC/kiosk.toml (root:$KIOSK_USER 0640: it holds the broker password) and $ETC/kiosk.env"
run install -d -m 0755 "$ETC"
if [ -n "$CONFIG" ]; then
  run install -m 0640 -o root -g "$KIOSK_USER" "$CONFIG" "$ETC/kiosk.toml"
elif [ "$DRY" -eq 1 ] || [ ! -f "$ETC/kiosk.toml" ]; then
  run install -m 0640 -o root -g "$KIOSK_USER" "$REPO/deploy/kiosk.example.toml" "$ETC/kiosk.toml"
  echo "    NOTE: edit $ETC/kiosk.toml (device, window, broker, password), or run again with --config FILE"
fi
if [ "$DRY" -eq 1 ] || [ ! -f "$ETC/kiosk.env" ]; then
  write_file "$ETC/kiosk.env" 0640 "root:$KIOSK_USER" <<EOF
# Environment of $UNIT (systemd EnvironmentFile); the broker password is in kiosk.toml.
GPIOZERO_PIN_FACTORY=lgpio
SDL_VIDEODRIVER=wayland
EOF
fi
# The unit gives the kiosk $DATA (StateDirectory) and nothing else to write: data_dir must be there.
run "$VENV/bin/python" -c "import sys; from device.settings import load_settings; s = load_settings(sys.argv[1]); print('    kiosk', s.device, 'at window', s.window, 'data in', s.data_dir); sys.exit(0 if str(s.data_dir) == sys.argv[2] else 'data_dir in ' + sys.argv[1] + ' must be ' + sys.argv[2])" "$ETC/kiosk.toml" "$DATA"

step "the outbox on persistent storage: $DATA (the unit's StateDirectory, on the SD card, not tmpfs or an overlay)"
run install -d -m 0750 -o "$KIOSK_USER" -g "$KIOSK_USER" "$DATA"
if [ "$HARDWARE" -eq 1 ]; then
  echo "    + findmnt -n -o FSTYPE --target $DATA  (must not be tmpfs or overlay: raspi-config's overlay file system loses the outbox)"
  if [ "$DRY" -eq 0 ]; then
    fstype="$(findmnt -n -o FSTYPE --target "$DATA")"
    case "$fstype" in
      tmpfs|overlay|ramfs) die "$DATA is on $fstype: turn off the overlay file system (raspi-config, Performance) and run again" ;;
    esac
    echo "    $DATA is on $fstype"
  fi
else
  skip "no-hardware: the file system check needs the Pi's own disks"
fi

step "systemd units: $UNIT from deploy/systemd (Restart=always, no start limit, watchdog)"
if [ "$HEADLESS" -eq 0 ]; then
  write_file /etc/pam.d/ceval-kiosk 0644 root:root <<'EOF'
# The kiosk's session (ceval-kiosk.service, PAMName=ceval-kiosk): logind gives cage the seat.
auth     required  pam_unix.so nullok
account  required  pam_unix.so
session  required  pam_unix.so
session  required  pam_systemd.so
EOF
fi
run install -m 0644 "$REPO/deploy/systemd/$UNIT" "/etc/systemd/system/$UNIT"
if [ "$HARDWARE" -eq 1 ]; then run systemctl daemon-reload; else skip "no-hardware: no running systemd to reload"; fi
run systemctl enable "$UNIT"
if [ "$HEADLESS" -eq 0 ]; then
  run systemctl set-default graphical.target
  # No desktop: a display manager would fight cage for the screen.
  if [ "$DRY" -eq 1 ] || [ -e /etc/systemd/system/display-manager.service ]; then
    run systemctl disable display-manager.service
  fi
fi

step "screen blanking off: consoleblank=0 on the kernel command line (the kiosk also inhibits the screensaver)"
cmdline=/boot/firmware/cmdline.txt
if [ "$HARDWARE" -eq 1 ] && [ "$HEADLESS" -eq 0 ]; then
  [ -f "$cmdline" ] || [ "$DRY" -eq 1 ] || cmdline=/boot/cmdline.txt
  echo "    + add consoleblank=0 to $cmdline (one line; kept once)"
  if [ "$DRY" -eq 0 ]; then
    [ -f "$cmdline" ] || die "no $cmdline: is this Raspberry Pi OS? (--no-hardware skips this step)"
    if ! grep -qw 'consoleblank=0' "$cmdline"; then
      sed -i -e 's/[[:space:]]*consoleblank=[0-9]*//g' -e '1s/$/ consoleblank=0/' "$cmdline"
    fi
  fi
else
  skip "no-hardware or headless: the kernel command line is the Pi's ($cmdline)"
fi

step "time sync: systemd-timesyncd${NTP:+ with NTP=$NTP}"
if [ -n "$NTP" ]; then
  write_file /etc/systemd/timesyncd.conf.d/ceval.conf 0644 root:root <<EOF
[Time]
NTP=$NTP
EOF
fi
run systemctl enable systemd-timesyncd.service
if [ "$HARDWARE" -eq 1 ]; then
  run timedatectl set-ntp true
  run systemctl restart systemd-timesyncd.service
else
  skip "no-hardware: timedatectl needs a booted system"
fi

step "done"
if [ "$HARDWARE" -eq 1 ]; then
  echo "    reboot: the kiosk starts on tty1 (journalctl -u $UNIT; systemctl status $UNIT)"
else
  echo "    installed in $VENV; the units are enabled for the next boot"
fi
