"""The kiosk's touchscreen: a thin Kivy adapter over the runtime.

Layout is in kiosk.kv; state is in the app's properties, refreshed from the
core. Every touch that acts on the kiosk becomes one call on the runtime
(`runtime.act`), the same path GPIO buttons and the simulator take; the
language switch and the sign-in keypad change only the app's own properties.
Other threads (the publisher's config callback) reach the widgets only through
the Kivy Clock.

Call `configure_kivy(settings, font)` before anything imports kivy.core.window.
"""
from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")  # the kiosk's command line is ours, not Kivy's
os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")  # SIGTERM stays ours: systemd stops the kiosk cleanly
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # Kivy logs through logging, like the rest of the kiosk

from kivy.app import App  # noqa: E402
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.graphics import Color, Ellipse, Line
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.togglebutton import ToggleButton
from kivy.uix.widget import Widget

from . import screens, texts
from .fit import fit_font, min_touch_px
from .guards import TouchFilter
from .runtime import KioskRuntime
from .settings import KioskSettings

log = logging.getLogger(__name__)

KV_FILE = Path(__file__).with_name("kiosk.kv")
REFERENCE_HEIGHT = 480


def configure_kivy(settings: KioskSettings, font: str) -> None:
    """Window size, one touch provider, the CJK font: all before the window exists."""
    from kivy.config import Config

    Config.set("graphics", "width", str(settings.width))
    Config.set("graphics", "height", str(settings.height))
    Config.set("graphics", "fullscreen", "auto" if settings.fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if settings.fullscreen else "1")
    Config.set("kivy", "exit_on_escape", "0")
    # One touch provider only: with two, every touch arrives twice (the TouchFilter catches what slips through).
    # Kivy's default config on Linux adds `%(name)s = probesysfs` (evdev/hidinput): removed here.
    for option in Config.options("input"):
        if option != "mouse":
            Config.remove_option("input", option)
    Config.set("input", "mouse", "mouse,disable_on_activity,disable_multitouch")
    from kivy.core.text import DEFAULT_FONT, LabelBase

    LabelBase.register(DEFAULT_FONT, font)


class Face(Widget):
    """A round face whose mouth bends with `mood`: 1 smiles, 0 frowns."""
    mood = NumericProperty(0.5)
    tint = ListProperty([1, 1, 1, 1])

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, mood=self._draw, tint=self._draw)

    def _draw(self, *_):
        self.canvas.clear()
        r = min(self.width, self.height) / 2
        if r <= 0:
            return
        cx, cy = self.center
        w = max(1.5, r * 0.09)
        with self.canvas:
            Color(*self.tint)
            Line(circle=(cx, cy, r - w, 0, 360, 48), width=w)
            for dx in (-0.35, 0.35):
                Ellipse(pos=(cx + dx * r - r * 0.09, cy + r * 0.18), size=(r * 0.18, r * 0.22))
            bend = (self.mood - 0.5) * 2  # -1 frown .. 1 smile
            y = cy - r * 0.32
            Line(bezier=(cx - r * 0.45, y + bend * r * 0.1, cx, y - bend * r * 0.32,
                         cx + r * 0.45, y + bend * r * 0.1), bezier_precision=24, width=w)


class FitText:
    """Mixed into a Label (or a Button, which is one): its font shrinks from `font_max` down to `font_min`
    until the text fits the widget less `inset` on each side, wrapping only between words (device/fit.py);
    below the floor the text is shortened with an ellipsis. The text box never exceeds the widget.

    A label given `content` instead of `text` may also break a run of Chinese between its characters, as
    Chinese is set (titles, messages): it draws `content` with the line breaks chosen into `text`.
    """
    font_max = NumericProperty(24)
    font_min = NumericProperty(12)
    inset = NumericProperty(0)
    content = StringProperty(None, allownone=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._refit = Clock.create_trigger(self._fit, -1)
        self.bind(size=self._refit, content=self._refit, font_max=self._refit, font_min=self._refit,
                  inset=self._refit, bold=self._refit, font_name=self._refit)
        self.fbind("text", self._text_changed)
        self._fit()

    def _text_changed(self, *_):
        if self.content is None:
            self._refit()

    def _fit(self, *_):
        width, height = max(0, self.width - 2 * self.inset), max(0, self.height - 2 * self.inset)
        cjk = self.content is not None
        fit = fit_font(self.content if cjk else self.text, width, height, self.font_max, self.font_min, cjk=cjk,
                       bold=self.bold, font_name=self.font_name)
        self.text_size = (width, height)
        self.font_size = fit.font_size
        self.shorten = not fit.fits
        if cjk:
            self.text = fit.text if fit.fits else " ".join(self.content.split())


class FitLabel(FitText, Label):
    pass


class FitButton(FitText, Button):
    pass


class FitToggle(FitText, ToggleButton):
    pass


class RatingButton(ButtonBehavior, BoxLayout):
    text = StringProperty("")
    score = NumericProperty(0)
    mood = NumericProperty(0.5)
    tint = ListProperty([0.5, 0.5, 0.5, 1])


class ClerkArea(BoxLayout):
    """The clerk's name: a touch held on it for `hold_seconds` dispatches `on_hold` (kiosk.kv opens the staff
    sign-in with it)."""
    __events__ = ("on_hold",)
    hold_seconds = NumericProperty(2.0)

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos):
            touch.ud["hold"] = Clock.schedule_once(lambda dt: self.dispatch("on_hold"), self.hold_seconds)
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        if "hold" in touch.ud:
            touch.ud.pop("hold").cancel()
        return super().on_touch_up(touch)

    def on_hold(self):
        pass


class KioskScreens(ScreenManager):
    """Every screen of kiosk.kv, switched at once (no transition)."""
    def __init__(self, **kwargs):
        super().__init__(transition=NoTransition(), **kwargs)


class KioskApp(App):
    u = NumericProperty(1.0)
    touch = NumericProperty(min_touch_px((800, 480)))  # the smallest side of a touch target (9 mm), in pixels
    words = DictProperty(texts.words("zh"))
    title_text = StringProperty("")
    clerk_name = StringProperty("")
    clerk_number = StringProperty("")
    photo = StringProperty("")
    case_text = StringProperty("")
    storage_text = StringProperty("")  # why ratings cannot be saved now (a full disk); "" when they can
    away_text = StringProperty("")
    connected = BooleanProperty(False)
    can_comment = BooleanProperty(False)
    thanks_choice = StringProperty("")  # the score chosen, on the thank-you where the window shows it; else ""
    thanks_mood = NumericProperty(1.0)  # the thank-you's face: a smile, unless it shows the score chosen
    qr_texture = ObjectProperty(None, allownone=True)
    signed_in = BooleanProperty(False)
    signin_field = StringProperty("staff")
    signin_staff = StringProperty("")
    signin_pin = StringProperty("")
    signin_message = StringProperty("")

    def __init__(self, runtime: KioskRuntime, online: Callable[[], bool] | None = None, **kwargs):
        """`online` tells the connection dot whether the broker is reached: the runtime's publisher by default
        (a preview, device/preview.py, shows a connected kiosk)."""
        super().__init__(**kwargs)
        self.runtime = runtime
        self._online = online or (lambda: runtime.publisher.connected)
        self.kiosk = runtime.kiosk
        self.language: str | None = None  # a customer's switch; None: the config's language
        self.touch_filter = TouchFilter()
        self._layout_key = None
        self._qr_url = None
        self._dropped_touches: set = set()
        self._main = threading.current_thread()

    # ---------------------------------------------------------- Kivy life cycle
    def load_kv(self, filename=None):
        return False  # build() loads kiosk.kv once per process, however many apps a test makes

    def build(self):
        from kivy.core.window import Window

        self.title = f"counter-eval {self.runtime.settings.window}"
        if str(KV_FILE) not in Builder.files:
            Builder.load_file(str(KV_FILE))
        Window.bind(on_touch_down=self._filter_down, on_touch_move=self._filter_move,
                    on_touch_up=self._filter_up, size=self._resized)
        Window.allow_screensaver = False
        self._resized(Window, Window.size)
        root = KioskScreens()
        self.kiosk.subscribe(self._changed)
        Clock.schedule_interval(self._poll, 0.02)
        Clock.schedule_once(lambda dt: self.refresh(root))
        return root

    def on_stop(self):
        from kivy.core.window import Window

        Window.unbind(on_touch_down=self._filter_down, on_touch_move=self._filter_move,
                      on_touch_up=self._filter_up, size=self._resized)
        Clock.unschedule(self._poll)

    def _resized(self, window, size):
        self.u = size[1] / REFERENCE_HEIGHT
        self.touch = min_touch_px(size)

    def _poll(self, dt):
        self.runtime.poll()
        self.connected = self._online()

    # ---------------------------------------------------------- touches
    def _filter_down(self, window, touch):
        if self.touch_filter.accept(touch.x, touch.y, self.runtime.clock.monotonic()):
            return False
        log.info("dropped a duplicated touch at %.0f,%.0f", touch.x, touch.y)
        self._dropped_touches.add(touch.uid)
        return True

    def _filter_move(self, window, touch):
        return touch.uid in self._dropped_touches

    def _filter_up(self, window, touch):
        if touch.uid in self._dropped_touches:
            self._dropped_touches.discard(touch.uid)
            return True
        return False

    # ---------------------------------------------------------- from the core
    def _changed(self, kiosk):
        if threading.current_thread() is self._main:
            self.refresh()
        else:
            Clock.schedule_once(lambda dt: self.refresh())

    def refresh(self, root=None):
        """Bring every widget in line with the core's state."""
        root = root or self.root
        if root is None:
            return
        config, kiosk = self.kiosk.config, self.kiosk
        if root.current in (screens.THANKS, screens.COMMENT) and kiosk.shown in (*screens.AT_REST, screens.AWAY):
            self.language = None  # a customer's switch of language lasts until they are done
        language = self.language or config.language
        self.words = texts.words(language)
        self.title_text = texts.title(config, language, self.runtime.settings.window)
        clerk = kiosk.clerk
        self.clerk_name = clerk["name"] if clerk else ""
        self.clerk_number = f"{self.words['staff']} {clerk['id']}" if clerk else ""
        self.photo = self._photo(clerk["id"]) if clerk else ""
        self.away_text = texts.away_text(config, language)
        self.case_text = f"{self.words['case']} {kiosk.case}" if kiosk.case else ""
        self.storage_text = self.words[f"storage_{kiosk.storage}"] if kiosk.storage else ""
        self.signed_in = kiosk.signed_in is not None
        self.can_comment = bool(texts.phrases(config, language) or config.comment_url)
        rating = kiosk.last_rating
        if config.thanks_show_score and rating is not None and rating.score is not None:
            label = texts.labels(config, language).get(str(rating.score), str(rating.score))
            self.thanks_choice = self.words["your_rating"] + label
            self.thanks_mood = (rating.score - 1) / (rating.scale - 1)
        else:  # the default: the same thanks whatever was pressed
            self.thanks_choice, self.thanks_mood = "", 1.0
        key = (config.scale, tuple(texts.labels(config, language).items()),
               tuple(texts.reasons(config, language)), texts.phrases(config, language), language)
        if key != self._layout_key:
            self._layout_key = key
            self._build_buttons(root, config, language)
        if config.comment_url != self._qr_url:
            self._qr_url = config.comment_url
            self.qr_texture = _qr_texture(config.comment_url) if config.comment_url else None
        if kiosk.shown == screens.RATED and root.current != screens.RATED:
            for chip in root.get_screen(screens.RATED).ids.chips.children:
                chip.state = "normal"
        if kiosk.shown == screens.SIGNIN and root.current != screens.SIGNIN:
            self.signin_staff = self.signin_pin = self.signin_message = ""
            self.signin_field = "staff"
        if root.current != kiosk.shown:
            root.current = kiosk.shown
            if root.transition.is_active:
                # NoTransition still runs a zero-length animation until the next tick: while it runs the
                # old screen is drawn too and touches are ignored. End it now.
                root.transition.stop()

    def _photo(self, staff_id: str) -> str:
        folder = self.runtime.settings.photo_dir
        if not folder:
            return ""
        for ext in (".png", ".jpg", ".jpeg"):
            path = folder / f"{staff_id}{ext}"
            if path.is_file():
                return str(path)
        return ""

    def _build_buttons(self, root, config, language):
        row = root.get_screen(screens.READY).ids.buttons
        row.clear_widgets()
        labels = texts.labels(config, language)
        for score in range(config.scale, 0, -1):  # best on the left, as halls show them
            mood = (score - 1) / (config.scale - 1)
            button = RatingButton(text=labels[str(score)], score=score, mood=mood, tint=_tint(mood))
            button.bind(on_release=lambda b: self.press(int(b.score)))
            row.add_widget(button)
        chips = root.get_screen(screens.RATED).ids.chips
        chips.clear_widgets()
        reasons = texts.reasons(config, language)
        chips.cols = _columns(len(reasons), rows=4)
        for code, label in reasons:
            chip = Factory.Chip(text=label)
            chip.code = code
            chips.add_widget(chip)
        phrases = root.get_screen(screens.COMMENT).ids.phrases
        phrases.clear_widgets()
        phrases.cols = _columns(len(texts.phrases(config, language)), rows=3)
        for phrase in texts.phrases(config, language):
            button = Factory.Quiet(text=phrase, size_hint_y=1)
            button.bind(on_release=lambda b: self.comment(b.text))
            phrases.add_widget(button)

    # ---------------------------------------------------------- actions (the kv calls these)
    def press(self, score: int) -> bool:
        return self.runtime.act(self.kiosk.press, score)

    def send_reasons(self):
        chips = self.root.get_screen(screens.RATED).ids.chips.children
        codes = [c.code for c in reversed(chips) if c.state == "down"]
        self.runtime.act(self.kiosk.choose_reasons, codes)

    def skip_reasons(self):
        self.runtime.act(self.kiosk.skip_reasons)

    def open_comment(self):
        self.runtime.act(self.kiosk.open_comment)

    def comment(self, text: str):
        self.runtime.act(self.kiosk.comment, text)

    def close(self):
        self.runtime.act(self.kiosk.close)

    def toggle_language(self):
        current = self.language or self.kiosk.config.language
        self.language = "en" if current == "zh" else "zh"
        self.refresh()

    def open_sign_in(self):
        self.runtime.act(self.kiosk.open_sign_in)

    def key(self, key: str):
        field = "signin_pin" if self.signin_field == "pin" else "signin_staff"
        value = getattr(self, field)
        value = "" if key == "C" else value[:-1] if key == "←" else (value + key)[:16]
        setattr(self, field, value)

    def sign_in(self):
        if self.runtime.act(self.kiosk.sign_in, self.signin_staff, self.signin_pin):
            return
        self.signin_pin = ""
        self.signin_message = self.words["signin_locked" if self.kiosk.signin_locked else "signin_failed"]

    def sign_out(self):
        self.runtime.act(self.kiosk.sign_out)
        self.runtime.act(self.kiosk.close)


def _columns(count: int, rows: int) -> int:
    """Two columns, more when `count` buttons would need over `rows` rows (each then too low to touch)."""
    return max(2, -(-count // rows))


def _tint(mood: float) -> list[float]:
    """Green for the best level through amber to red for the worst."""
    stops = [(0.0, (0.83, 0.18, 0.18)), (0.25, (0.94, 0.42, 0.0)), (0.5, (0.93, 0.66, 0.0)),
             (0.75, (0.49, 0.70, 0.26)), (1.0, (0.18, 0.58, 0.29))]
    for (a, ca), (b, cb) in zip(stops, stops[1:]):
        if a <= mood <= b:
            f = (mood - a) / (b - a)
            return [ca[i] + (cb[i] - ca[i]) * f for i in range(3)] + [1]
    return [0.5, 0.5, 0.5, 1]


def _qr_texture(url: str):
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    texture = CoreImage(buffer, ext="png").texture
    texture.mag_filter = "nearest"
    return texture

