"""`ceval kiosk`: a kiosk from its TOML config (device/main.py), or its screens rendered offscreen. Only this
command imports the kiosk's side."""
from __future__ import annotations

import sys
import threading

from ceval.common import stop_on_signals


def cmd_kiosk(args) -> int:
    if args.screenshot:
        from device.main import run_screenshots

        return run_screenshots(args)
    if not args.config:
        print("ceval kiosk: --config is required (the kiosk's TOML config file), except with --screenshot",
              file=sys.stderr)
        return 2
    from device.main import run_kiosk

    stop = threading.Event()
    stop_on_signals(stop)
    return run_kiosk(args, stop)


def add_commands(sub) -> None:
    """Register `kiosk` on the `ceval` parser's subcommands."""
    p = sub.add_parser("kiosk", help="run a kiosk", description="Run a kiosk from its TOML config: the "
                       "touchscreen, or with --headless only the GPIO inputs (or the simulator).")
    p.add_argument("--config", help="the kiosk's TOML config file (required, except with --screenshot); with "
                   "--screenshot also a config message (.json); default there: a demonstration config")
    p.add_argument("--screenshot", metavar="DIR", help="do not run: render every screen at 800x480, 1024x600 and "
                   "1280x800 in Chinese and English into DIR as SCREEN-WxH-LANG.png, offscreen")
    p.add_argument("--key", action="store_true", help="print the fingerprint of the kiosk's signing key (made on "
                   "first use) for the admin to pin (`ceval device add --key`), and exit")
    p.add_argument("--headless", action="store_true", help="no screen: GPIO buttons and the away sign only")
    p.add_argument("--simulate", action="store_true", help="simulated customers press the buttons")
    p.add_argument("--count", type=int, help="with --simulate: stop after this many ratings")
    p.add_argument("--linger", action="store_true", help="with --count: keep running after the last rating")
    p.add_argument("--seed", type=int, help="with --simulate: random seed")
    p.add_argument("--pace", type=float, default=1.0,
                   help="with --simulate: how busy the window is (1: a customer every 4-15 s; 2: twice as busy)")
    p.set_defaults(func=cmd_kiosk)
