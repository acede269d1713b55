# What the Pi's and the server's setup scripts share (sourced by deploy/pi/setup.sh and deploy/server/setup.sh,
# after they set DRY): one-line failures, numbered steps, commands and files that a dry run only prints, and the
# check of --source.
# shellcheck shell=bash

die() { echo "setup.sh: $*" >&2; exit 2; }

# check_source PATH: a checkout of counter-eval or a wheel
check_source() {
  if [ -f "$1" ]; then
    case "$1" in *.whl) ;; *) die "--source $1: a checkout (folder) or a wheel (.whl)" ;; esac
  elif [ ! -f "$1/pyproject.toml" ]; then
    die "--source $1: no pyproject.toml there"
  fi
}

n=0
step() { n=$((n + 1)); echo "==> step $n: $*"; }
skip() { echo "    (skipped: $*)"; }
run() {
  echo "    + $*"
  if [ "$DRY" -eq 0 ]; then "$@"; fi
}
# write_file PATH MODE OWNER:GROUP, content on standard input (printed as well in a dry run)
write_file() {
  local path="$1" mode="$2" owner="$3" content
  content="$(cat)"
  echo "    + write $path (mode $mode, $owner)"
  printf '%s\n' "$content" | sed 's/^/      | /'
  if [ "$DRY" -eq 0 ]; then
    install -d -m 0755 "$(dirname "$path")"
    printf '%s\n' "$content" > "$path.tmp"
    chown "$owner" "$path.tmp"
    chmod "$mode" "$path.tmp"
    mv "$path.tmp" "$path"
  fi
}
