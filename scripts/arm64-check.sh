#!/usr/bin/env bash
# The kiosk on the Pi's architecture: a Debian bookworm arm64 root under qemu-user emulation.
#
# Usage: scripts/arm64-check.sh [--reuse] [--worktree] [--cache DIR] [-- PYTEST_ARGS...]
#
# Builds a Debian bookworm arm64 root with debootstrap (about 3 min), runs it under qemu-user-static
# through binfmt_misc, copies this repository into it, installs the kiosk there the way the Pi setup
# script does (`deploy/pi/setup.sh --no-hardware --with-tests`: its packages, the kiosk user, the venv
# with `pip install .[device,dev] lgpio`, config and units, leaving out what needs the Pi or a booted
# systemd; --with-tests adds the test tools and mosquitto, which the tests start), and runs
# `pytest tests/device tests/shared` inside it. Exits with pytest's status. Takes minutes (Python runs
# about 7x slower under emulation): it is not part of the default test run.
#
#   --reuse       reuse the root built by an earlier run (default: build it anew)
#   --worktree    copy the working tree as it is, uncommitted changes included (default: `git archive HEAD`)
#   --cache DIR   where the root lives (default: $CEVAL_ARM64_CACHE or /var/tmp/ceval-arm64)
#   -- ARGS       passed to pytest instead of the default `tests/device tests/shared`
#
# Inside, the tests run with KIVY_HOME in a temporary folder, KIVY_NO_ARGS=1, GALLIUM_DRIVER=softpipe
# (faster than llvmpipe under qemu), no DISPLAY (Kivy's offscreen EGL window), mock GPIO pins (lgpio
# cannot open a gpiochip there) and CEVAL_TEST_SLOWDOWN=8, which stretches the tests' latency budgets.
#
# Needs root (debootstrap, chroot, mounts) on a Debian or Ubuntu host; installs debootstrap,
# qemu-user-static and binfmt-support with apt-get when they are missing. The root gets the same
# package sources as the host: the Debian mirror from the host's apt sources, the package index from
# the host's pip settings (only http(s) ones: local folders do not exist inside the root), and the CA
# certificates the host added under /usr/local/share/ca-certificates.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CEVAL_ARM64_CACHE:-/var/tmp/ceval-arm64}"
REUSE=0
WORKTREE=0
# The kiosk's tests (a test that needs the server's packages skips itself: a kiosk does not install them).
PYTEST_ARGS=(tests/device tests/shared)
# Latency budgets (a config on screen within 2 s) are for a real Pi; qemu runs Python about 7x slower.
SLOWDOWN=8
SUITE=bookworm
SRC_IN_ROOT=/opt/counter-eval/src
VENV_IN_ROOT=/opt/counter-eval/venv
# What the kiosk needs from Debian besides Python (as in deploy/pi/setup.sh and scripts/bootstrap.sh):
# the broker the tests start, the CJK font, Mesa and the libraries Kivy's SDL2 opens.
KIOSK_PACKAGES=(python3 python3-venv mosquitto fonts-wqy-microhei libgl1 libegl1 libgl1-mesa-dri libx11-6
                libxrender1 libmtdev1)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
say() { printf '[arm64-check %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --reuse) REUSE=1 ;;
    --worktree) WORKTREE=1 ;;
    --cache) [ $# -ge 2 ] || die "--cache needs a folder"; CACHE="$2"; shift ;;
    --cache=*) CACHE="${1#--cache=}" ;;
    -h|--help) usage; exit 0 ;;
    --) shift; [ $# -gt 0 ] && PYTEST_ARGS=("$@"); break ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

[ "$(id -u)" -eq 0 ] || die "run as root: debootstrap, chroot and mounts need it"
CACHE="$(mkdir -p "$CACHE" && cd "$CACHE" && pwd)"
ROOTFS="$CACHE/root"
started=$SECONDS

host_packages() {
  local missing=() pkg
  for pkg in debootstrap qemu-user-static binfmt-support; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
}

enable_binfmt() {
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
  grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
    die "qemu-aarch64 is not registered with binfmt_misc (update-binfmts --enable qemu-aarch64)"
  # Debian registers qemu with the F flag: the kernel holds the interpreter, the root needs no copy.
  grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
    die "qemu-aarch64 lacks binfmt_misc's F flag; install Debian's qemu-user-static"
}

# Every URI of the host's apt sources, one-line and deb822 formats.
apt_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -nE 's/^[[:space:]]*URIs:[[:space:]]*//p' "$f" | tr ' ' '\n'
  done
}

MIRROR="$(apt_uris | grep -E '/debian/?$' | head -n1 || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY="$(apt_uris | grep -E '/debian-security/?$' | head -n1 || true)"
SECURITY="${SECURITY:-http://deb.debian.org/debian-security}"

# The host's pip settings: environment first, then pip's configuration files.
pip_setting() {  # NAME (index-url, extra-index-url, default-timeout)
  local var
  var="PIP_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  if [ -n "${!var:-}" ]; then
    echo "${!var}"
  elif command -v pip3 >/dev/null; then
    pip3 config list 2>/dev/null | sed -nE "s/^global\.$1='(.*)'\$/\1/p" | head -n1
  fi
}
web_only() { tr ' ' '\n' | grep -E '^https?://' | paste -sd' ' - || true; }
PIP_INDEX="$(pip_setting index-url | web_only)"
PIP_INDEX="${PIP_INDEX:-https://pypi.org/simple}"
PIP_EXTRA="$(pip_setting extra-index-url | web_only)"
PIP_TIMEOUT="$(pip_setting default-timeout)"

unmount_root() {
  local m
  # Deepest first; a lazy unmount as last resort so no bind mount of /dev outlives the run.
  for m in $(findmnt -rn -o TARGET | grep -E "^$ROOTFS(/|\$)" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}

mount_root() {
  unmount_root
  mount -t proc proc "$ROOTFS/proc"
  mount -t sysfs sysfs "$ROOTFS/sys"
  mount --rbind /dev "$ROOTFS/dev"
  mount --make-rslave "$ROOTFS/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$ROOTFS/tmp"
  cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
}

# A command inside the root, in the repository's copy, with a clean environment: the host's settings
# point at folders the root lacks.
in_root() {
  local env=(HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive
             PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
             PIP_INDEX_URL="$PIP_INDEX" PIP_CERT=/etc/ssl/certs/ca-certificates.crt
             PIP_DISABLE_PIP_VERSION_CHECK=1)
  [ -n "$PIP_EXTRA" ] && env+=(PIP_EXTRA_INDEX_URL="$PIP_EXTRA")
  [ -n "$PIP_TIMEOUT" ] && env+=(PIP_DEFAULT_TIMEOUT="$PIP_TIMEOUT")
  chroot "$ROOTFS" /usr/bin/env -i -C "$SRC_IN_ROOT" "${env[@]}" "$@"
}

build_root() {
  local tmp="$CACHE/root.new"
  if [ -d "$ROOTFS" ]; then
    say "removing the old root"
    unmount_root
    rm -rf --one-file-system "$ROOTFS"
  fi
  rm -rf --one-file-system "$tmp"
  say "debootstrap $SUITE arm64 from $MIRROR (a few minutes)"
  debootstrap --arch=arm64 --variant=minbase --include=ca-certificates,python3 \
    "$SUITE" "$tmp" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  cat > "$tmp/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
  echo ceval-arm64 > "$tmp/etc/hostname"
  mv "$tmp" "$ROOTFS"
  touch "$ROOTFS/.ceval-root-complete"
}

copy_repository() {
  rm -rf "${ROOTFS:?}$SRC_IN_ROOT"
  mkdir -p "$ROOTFS$SRC_IN_ROOT"
  if [ "$WORKTREE" -eq 1 ]; then
    say "copying the working tree"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
       while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
       tar --null -T - -cf -) | tar -xf - -C "$ROOTFS$SRC_IN_ROOT"
  else
    say "copying HEAD ($(git -C "$ROOT" rev-parse --short HEAD))"
    git -C "$ROOT" archive --format=tar HEAD | tar -xf - -C "$ROOTFS$SRC_IN_ROOT"
  fi
}

install_kiosk() {
  local setup="$ROOTFS$SRC_IN_ROOT/deploy/pi/setup.sh" log="$CACHE/install.log"
  : > "$log"
  if [ -f "$setup" ] && grep -q -- '--no-hardware' "$setup" && grep -q -- '--with-tests' "$setup"; then
    say "installing the kiosk with deploy/pi/setup.sh --no-hardware --with-tests (log: $log)"
    in_root bash "$SRC_IN_ROOT/deploy/pi/setup.sh" --no-hardware --with-tests >> "$log" 2>&1 || install_failed
    VENV_IN_ROOT="$(in_root bash "$SRC_IN_ROOT/deploy/pi/setup.sh" --print-venv)"
  else
    say "deploy/pi/setup.sh has no --no-hardware --with-tests mode here: installing its way by hand (log: $log)"
    {
      in_root apt-get update -q &&
      in_root apt-get install -y -q --no-install-recommends "${KIOSK_PACKAGES[@]}" &&
      { [ -x "$ROOTFS$VENV_IN_ROOT/bin/python" ] || in_root python3 -m venv "$VENV_IN_ROOT"; } &&
      in_root "$VENV_IN_ROOT/bin/python" -m pip install -q --upgrade pip &&
      in_root "$VENV_IN_ROOT/bin/python" -m pip install -q "${SRC_IN_ROOT}[device,dev]" lgpio
    } >> "$log" 2>&1 || install_failed
  fi
}

install_failed() {
  tail -n 30 "$CACHE/install.log" >&2
  die "installing the kiosk in the root failed (log: $CACHE/install.log)"
}

trust_host_cas() {
  # The CAs the host added locally (a company proxy, a private mirror) so pip and apt reach the same places.
  local crt changed=0
  for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] || continue
    if ! cmp -s "$crt" "$ROOTFS/usr/local/share/ca-certificates/${crt##*/}"; then
      cp "$crt" "$ROOTFS/usr/local/share/ca-certificates/"
      changed=1
    fi
  done
  if [ "$changed" -eq 1 ]; then
    say "trusting the host's own CA certificates in the root"
    in_root update-ca-certificates >/dev/null
  fi
}

run_tests() {
  local kivy_home
  kivy_home="$(mktemp -d "$ROOTFS/tmp/kivy-home.XXXXXX")"
  say "pytest ${PYTEST_ARGS[*]} (arm64, emulated)"
  in_root /usr/bin/env KIVY_HOME="${kivy_home#"$ROOTFS"}" KIVY_NO_ARGS=1 GALLIUM_DRIVER=softpipe \
    CEVAL_TEST_SLOWDOWN="$SLOWDOWN" \
    "$VENV_IN_ROOT/bin/python" -m pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"
}

host_packages
enable_binfmt
if [ "$REUSE" -eq 1 ] && [ -f "$ROOTFS/.ceval-root-complete" ]; then
  say "reusing the root in $ROOTFS"
else
  [ "$REUSE" -eq 1 ] && say "no complete root in $ROOTFS: building one"
  build_root
fi
[ "$(chroot "$ROOTFS" /usr/bin/uname -m)" = aarch64 ] || die "the root does not run as aarch64"
trap unmount_root EXIT
mount_root
copy_repository
trust_host_cas
install_kiosk
say "Python $(in_root "$VENV_IN_ROOT/bin/python" -c \
  'import platform; print(platform.python_version(), platform.machine())')"
status=0
run_tests || status=$?
say "pytest exited $status after $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s in all"
exit "$status"
