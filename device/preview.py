"""Every kiosk screen rendered offscreen into PNGs (`ceval kiosk --screenshot DIR`), and the real kiosk app
that the tests drive.

`open_window` makes this process's one Kivy window (offscreen when there is no display: SDL2 falls back to
EGL); `KioskPreview.build` runs a real kiosk app in it (a real runtime and outbox on a given folder, a
fake clock by default); `render_screens` walks such apps through every screen at every size, in Chinese
and English, and writes `{shot}-{w}x{h}-{lang}.png` (SHOTS). It sends nothing: its apps never connect.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from shared.clock import FakeClock
from shared.contract import Config, Invite
from shared.timefmt import format_ts

from . import screens
from .settings import SCREEN_SIZES, KioskSettings

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
# Two shots that are not screens of their own: the ready screen with the full-storage banner, and the ready
# screen of a kiosk in invite mode after the server's invite for a case number.
STORAGE = "storage"
INVITE = "invite"
# Every shot, in the order they are taken; idle and invite are those of a kiosk in invite mode.
SHOTS = (screens.READY, STORAGE, screens.RATED, screens.THANKS, screens.COMMENT, screens.AWAY, screens.SIGNIN,
         screens.IDLE, INVITE)
SHOWN_ON = {STORAGE: screens.READY, INVITE: screens.READY}  # the screen each of those is taken on
DEMO_PIN = "246810"


def demo_config() -> Config:
    """What `--screenshot` shows without --config: the longest title a window may have (32 characters),
    a clerk with name and number, the five built-in labels and reasons, the phrases and a comment QR code."""
    from shared.pins import hash_pin

    clerk = {"id": "1046", "name": "欧阳晓雯"}
    return Config(title="7号窗口 · 住房公积金提取（退休、离职、购房、租房、还贷）业务", staff=clerk,
                  comment_url="https://hall.example.cn/c/w07?t=demo",
                  roster=({**clerk, "pin": hash_pin(DEMO_PIN)},))


def prepare_environment() -> None:
    """Before Kivy is imported: no display (an offscreen window), Kivy's files in a scratch home, no argv."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        os.environ.pop(name, None)
    os.environ.pop("SDL_VIDEODRIVER", None)  # the kiosk unit's wayland would need a compositor
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")


def open_window(settings: KioskSettings, font: str):
    """This process's Kivy window, set up as the kiosk's; every flip waits for the renderer, so what was
    drawn is drawn (and offscreen llvmpipe does not pile up frames)."""
    from .screen import configure_kivy

    configure_kivy(settings, font)
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    from kivy.graphics.opengl import glFinish

    EventLoop.window.bind(on_flip=lambda *_: glFinish())
    return EventLoop.window


class KioskPreview:
    """One running kiosk app in the window: its runtime, clock and pins."""

    def __init__(self, window, app, runtime, clock, pins):
        self.window, self.app, self.runtime, self.clock, self.pins = window, app, runtime, clock, pins
        self.kiosk = runtime.kiosk

    @classmethod
    def build(cls, window, settings: KioskSettings, config: Config | None = None, size=(800, 480), *,
              clock=None, pin_factory=None, connect: bool = True, online: Callable[[], bool] | None = None):
        """A kiosk app on `settings.data_dir`, as if `config` was the last config it received; `connect`:
        start its publisher (else it never connects, and the dot shows `online`)."""
        from .runtime import KioskRuntime
        from .screen import KioskApp

        clock = clock or FakeClock()
        if config is not None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            settings.config_path.write_bytes(config.to_json())
        runtime = KioskRuntime(settings, clock=clock, pin_factory=pin_factory)
        window.size = size
        app = KioskApp(runtime, online=online)
        app.root = app.build()
        window.add_widget(app.root)
        if connect:
            runtime.start()
        else:
            runtime.act(runtime.kiosk.start, "present")
        return cls(window, app, runtime, clock, pin_factory)

    def frames(self, count: int = 3) -> None:
        from kivy.base import EventLoop

        for _ in range(count):
            EventLoop.idle()

    @property
    def current(self) -> str:
        return self.app.root.current

    def screen(self, name: str):
        return self.app.root.get_screen(name)

    def shoot(self, path: Path) -> Path:
        """The whole kiosk as a PNG of the window's size, once its texts have settled."""
        self.frames(4)
        self.app.root.export_to_png(str(path))
        return path

    def close(self) -> None:
        self.app.dispatch("on_stop")
        self.window.remove_widget(self.app.root)
        self.runtime.stop()


def render_screens(window, out_dir: Path, config: Config, base: KioskSettings,
                   sizes=SCREEN_SIZES, languages=LANGUAGES) -> list[Path]:
    """Every shot of SHOTS at each size in each language, into `out_dir`; the paths written."""
    written = []
    with tempfile.TemporaryDirectory(prefix="ceval-preview-") as scratch:
        for width, height in sizes:
            for language in languages:
                shown = dataclasses.replace(config, language=language)
                name = f"{width}x{height}-{language}"
                for invite_mode, walk in ((False, _walk_kiosk), (True, _walk_invite_mode)):
                    settings = dataclasses.replace(base, data_dir=Path(scratch) / f"{name}-{invite_mode}",
                                                   invite_mode=invite_mode, min_interval=0.0, language=language)
                    preview = KioskPreview.build(window, settings, shown, (width, height), connect=False,
                                                 online=lambda: True)
                    try:
                        for shot in walk(preview):
                            if preview.current != SHOWN_ON.get(shot, shot):
                                log.warning("no %s screen with this config (it shows %s): not written",
                                            shot, preview.current)
                                continue
                            written.append(preview.shoot(out_dir / f"{shot}-{name}.png"))
                    finally:
                        preview.close()
    return written


def _walk_kiosk(preview: KioskPreview):
    app, kiosk = preview.app, preview.kiosk
    yield screens.READY
    kiosk.storage = "full"  # as a failed write leaves it: the banner until the outbox stores again
    app.refresh()
    yield STORAGE
    kiosk.storage = None
    app.refresh()
    app.press(2 if kiosk.config.reasons else 1)
    yield screens.RATED
    app.skip_reasons()
    yield screens.THANKS
    app.open_comment()
    yield screens.COMMENT
    app.close()
    preview.runtime.act(kiosk.sign, True)
    yield screens.AWAY
    preview.runtime.act(kiosk.sign, False)
    app.open_sign_in()
    yield screens.SIGNIN


def _walk_invite_mode(preview: KioskPreview):
    yield screens.IDLE
    invite = Invite(id=1, case="GJJ-2024-081500032", ts=format_ts(preview.clock.now()), ttl=60)
    preview.runtime.act(preview.kiosk.invite_for_case, invite)
    yield INVITE
