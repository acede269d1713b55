"""`ceval kiosk`: a kiosk with its touchscreen, or headless (GPIO only, or simulated customers)."""
from __future__ import annotations

import dataclasses
import logging
import random
import sys
import tempfile
import threading
from pathlib import Path

from shared.signing import shown_fingerprint

from .runtime import KioskRuntime
from .settings import SCREEN_SIZES, KioskSettings, SettingsError, load_settings
from .signing_key import SigningKey
from .simulator import Pace, simulate
from .watchdog import Notifier, Watchdog

log = logging.getLogger(__name__)


def run_kiosk(args, stop: threading.Event) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"ceval kiosk: {exc}", file=sys.stderr)
        return 2
    if args.key:
        key = SigningKey.load_or_create(settings.data_dir)
        print(f"device {settings.device}\nkey fingerprint {shown_fingerprint(key.fingerprint)}")
        return 0
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


# ---------------------------------------------------------------- ceval kiosk --screenshot DIR
def run_screenshots(args) -> int:
    """Every screen at 800x480, 1024x600 and 1280x800 in Chinese and English into DIR, offscreen.

    --config: a config message (a .json file, as the server publishes it) or a kiosk's TOML settings (its
    window, font and photos, and the config it last received); none: a demonstration config (device/preview.py).
    """
    from shared.contract import Config, ContractError, default_title, parse_config

    from .fonts import FontMissing, find_cjk_font
    from .preview import demo_config

    out = Path(args.screenshot)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()  # writable, not just present
    except OSError as exc:
        return _fail(f"cannot write screenshots to {out}: {exc.strerror or exc}")
    scratch = Path(tempfile.gettempdir())
    base = KioskSettings(device="preview", window="w07", broker="mqtt://127.0.0.1:1", data_dir=scratch)
    config_path = Path(args.config) if args.config else None
    try:
        if config_path is None:
            config = demo_config()
        elif config_path.suffix.lower() == ".json":
            config = parse_config(config_path.read_bytes())
        else:
            base = dataclasses.replace(load_settings(config_path), gpio={}, tls=None, fullscreen=False)
            try:
                config = parse_config(base.config_path.read_bytes())
            except FileNotFoundError:
                config = Config(title=default_title(base.window), language=base.language)
        font = find_cjk_font(base.font)
    except OSError as exc:
        return _fail(f"cannot read {config_path}: {exc.strerror or exc}")
    except ContractError as exc:
        return _fail(f"{config_path} is not a config a kiosk accepts: {exc.reason}")
    except (SettingsError, FontMissing) as exc:
        return _fail(str(exc))
    from .preview import open_window, prepare_environment, render_screens

    prepare_environment()
    width, height = SCREEN_SIZES[0]
    window = open_window(dataclasses.replace(base, width=width, height=height), font)
    written = render_screens(window, out, config, base)
    print(f"{len(written)} screenshots written to {out}")
    return 0


def _fail(message: str) -> int:
    print(f"ceval kiosk: {message}", file=sys.stderr)
    return 2
