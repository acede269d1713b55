"""`ceval kiosk`: a kiosk with its touchscreen, or headless (GPIO only, or simulated customers)."""
from __future__ import annotations

import logging
import random
import sys
import threading

from .runtime import KioskRuntime
from .settings import KioskSettings, SettingsError, load_settings
from .simulator import Pace, simulate
from .watchdog import Notifier, Watchdog

log = logging.getLogger(__name__)


def run_kiosk(args, stop: threading.Event) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"ceval kiosk: {exc}", file=sys.stderr)
        return 2
    if args.headless:
        return _headless(settings, args, stop)
    return _with_screen(settings, args, stop)


def _simulation(runtime: KioskRuntime, args, stop: threading.Event) -> threading.Thread | None:
    if not args.simulate:
        return None

    def run():
        given = simulate(runtime, stop, random.Random(args.seed), Pace().faster(args.pace), args.count)
        log.info("simulation gave %d ratings", given)

    thread = threading.Thread(target=run, name="simulator", daemon=True)
    thread.start()
    return thread


def _watchdog(runtime: KioskRuntime) -> Watchdog:
    """systemd's watchdog, fed from the loop that polls the runtime (see device/watchdog.py)."""
    settings = runtime.settings

    def status() -> str:
        broker = "connected" if runtime.publisher.connected else "not connected"
        return f"kiosk {settings.device} at window {settings.window}, broker {broker}"

    return Watchdog(Notifier.from_environ(), status)


def _headless(settings: KioskSettings, args, stop: threading.Event) -> int:
    runtime = KioskRuntime(settings)
    runtime.start()
    log.info("kiosk %s at window %s, stream %s (headless)", settings.device, settings.window, runtime.outbox.stream)
    simulation = _simulation(runtime, args, stop)
    watchdog = _watchdog(runtime)
    watchdog.ready()
    try:
        while not stop.wait(0.02):
            runtime.poll()
            watchdog.beat()  # only while this loop runs: a hung loop gets the kiosk restarted
            if simulation and not simulation.is_alive() and not args.linger:
                break
    finally:
        watchdog.stopping()
        runtime.stop()
    return 0


def _with_screen(settings: KioskSettings, args, stop: threading.Event) -> int:
    from .fonts import FontMissing, find_cjk_font

    try:
        font = find_cjk_font(settings.font)
    except FontMissing as exc:
        print(f"ceval kiosk: {exc}", file=sys.stderr)
        return 2
    from .screen import configure_kivy

    configure_kivy(settings, font)
    from .screen import KioskApp

    runtime = KioskRuntime(settings)
    app = KioskApp(runtime)
    runtime.start()
    log.info("kiosk %s at window %s, stream %s", settings.device, settings.window, runtime.outbox.stream)
    _simulation(runtime, args, stop)

    from kivy.clock import Clock

    watchdog = _watchdog(runtime)

    def stop_when_asked(dt):  # returns None: a False would unschedule it
        if stop.is_set():
            app.stop()
        watchdog.beat()  # on the Kivy Clock: a hung UI stops beating and systemd restarts the kiosk

    Clock.schedule_once(lambda dt: watchdog.ready())  # the first frame: the screen is up
    Clock.schedule_interval(stop_when_asked, 0.2)
    try:
        app.run()
    finally:
        watchdog.stopping()
        stop.set()
        runtime.stop()
    return 0
