"""Kiosk text that fits (issue 12): at 800x480, 1024x600 and 1280x800, in Chinese and English, with the longest
title a window may have, the header keeps the clerk, the switch and the connection dot on the screen, no label
is wider than its button or broken inside a word, every touch target is at least 9 mm, and custom texts show
their English in English mode. `ceval kiosk --screenshot DIR` renders every screen into DIR."""
from __future__ import annotations

import functools
import json

import pytest

from device import screens
from shared.contract import Config

from ..helpers import ceval

SIZES = [(800, 480), (1024, 600), (1280, 800)]


@functools.cache
def _demo() -> Config:
    from device.preview import demo_config

    config = demo_config()  # the PIN hash is slow on purpose: made once
    assert len(config.title) == 32
    return config


# ---------------------------------------------------------------- the rule
def test_a_chinese_label_shrinks_to_stay_on_one_line(kivy_window):
    from kivy.core.text import Label as CoreLabel

    from device.fit import fit_font

    wide = CoreLabel(font_size=40).get_extents("非常不满意")[0]
    fit = fit_font("非常不满意", wide - 10, 200, 40, 12)
    assert fit.fits and fit.font_size < 40 and fit.text == "非常不满意"
    assert CoreLabel(font_size=fit.font_size).get_extents("非常不满意")[0] <= wide - 10


def test_an_english_label_wraps_between_words_never_inside_one(kivy_window):
    from kivy.core.text import Label as CoreLabel

    from device.fit import fit_font

    word = CoreLabel(font_size=30).get_extents("unsatisfied")[0]
    fit = fit_font("Very unsatisfied", word + 4, 200, 30, 10)
    assert fit.fits and fit.font_size == 30, "two lines at full size: 'Very' / 'unsatisfied'"
    narrow = fit_font("Very unsatisfied", word - 20, 200, 30, 10)
    assert narrow.fits and narrow.font_size < 30
    assert not fit_font("Unsatisfied", 20, 200, 30, 10).fits, "below the floor: shortened, not cut into pieces"


def test_a_chinese_title_breaks_after_punctuation_first(kivy_window):
    from device.fit import fit_font

    title = _demo().title
    fit = fit_font(title, 420, 64, 34, 18, cjk=True)
    assert fit.fits and fit.text.count("\n") == 1
    first, second = fit.text.split("\n")
    assert first.endswith("、") and (first + second).replace(" ", "") == title.replace(" ", "")


def test_nine_millimetres_on_each_display():
    from device.fit import min_touch_px

    assert min_touch_px((800, 480)) == 54  # 9 mm x 5.9 px/mm, rounded up
    assert min_touch_px((1024, 600)) == 61
    assert min_touch_px((1280, 800)) == 54
    assert min_touch_px((1920, 1080)) == 61  # an unknown display: the densest known


# ---------------------------------------------------------------- the screens
def _inside(widget, size) -> bool:
    x, y = widget.to_window(*widget.pos)
    return x >= 0 and y >= 0 and x + widget.width <= size[0] + 0.5 and y + widget.height <= size[1] + 0.5


def _header(screen):
    for widget in screen.screen(screens.READY).walk(restrict=True):
        if "switch" in getattr(widget, "ids", {}):
            return widget
    raise AssertionError("no header")


def _check_texts_fit(root):
    """Every label in a button: its text box no wider than the button, no word wider than the text box,
    not shortened; the button at least app.touch in both directions."""
    from kivy.app import App
    from kivy.core.text import Label as CoreLabel
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.label import Label

    touch = App.get_running_app().touch
    checked = 0
    for button in root.walk(restrict=True):
        if not isinstance(button, ButtonBehavior) or button.opacity == 0 or button.disabled:
            continue
        assert button.width >= touch and button.height >= touch, f"{button} {button.size} is under {touch} px"
        labels = [button] if isinstance(button, Label) else [
            w for w in button.walk(restrict=True) if isinstance(w, Label)]
        for label in labels:
            if not label.text:
                continue
            assert label.texture_size[0] <= button.width, f"{label.text!r} is wider than its button"
            assert not label.shorten, f"{label.text!r} was shortened"
            measure = CoreLabel(font_size=label.font_size, bold=label.bold, font_name=label.font_name)
            for word in label.text.split():
                assert measure.get_extents(word)[0] <= label.text_size[0], f"{word!r} breaks inside {label.text!r}"
            checked += 1
    return checked


@pytest.mark.parametrize("size", SIZES, ids=["800x480", "1024x600", "1280x800"])
def test_every_screen_fits_with_the_longest_title_in_both_languages(make_screen, size):
    screen = make_screen(_demo(), size=size, min_interval=0.0)
    for language in ("zh", "en"):
        screen.app.language = language
        screen.app.refresh()
        screen.frames(4)
        header = _header(screen)
        title = header.ids.title
        assert title.content == _demo().title
        assert not title.shorten, "a title of 32 characters is shown whole"
        assert title.texture_size[0] <= title.width and title.texture_size[1] <= title.height
        for name in ("clerk", "clerk_name", "clerk_number", "switch", "dot"):
            widget = header.ids[name]
            assert _inside(widget, size), f"{name} is off the {size} screen ({language})"
            assert widget.to_window(*widget.pos)[0] >= title.to_window(title.right, 0)[0], f"{name} overlaps the title"
        assert header.ids.clerk_name.text == "欧阳晓雯" and header.ids.clerk_number.text.endswith("1046")
        assert not header.ids.clerk_name.shorten
        assert _check_texts_fit(screen.screen(screens.READY)) == 6  # five ratings and the switch
        screen.app.press(2)
        screen.frames(4)
        assert screen.current == screens.RATED and _check_texts_fit(screen.screen(screens.RATED)) == 7
        screen.app.skip_reasons()
        screen.frames(4)
        assert _check_texts_fit(screen.screen(screens.THANKS)) == 1
        screen.app.open_comment()
        screen.frames(4)
        assert _check_texts_fit(screen.screen(screens.COMMENT)) == 6
        screen.app.close()
        screen.app.open_sign_in()
        screen.frames(4)
        assert screen.current == screens.SIGNIN and _check_texts_fit(screen.screen(screens.SIGNIN)) == 16
        screen.app.close()
        screen.frames(2)


def test_custom_texts_show_their_english_in_english_mode(make_screen):
    config = Config(title="3号窗口", title_en="Window 3", staff={"id": "1024", "name": "张敏"},
                    labels={"5": "太棒了", "4": "满意", "3": "一般", "2": "不满意", "1": "很差"},
                    labels_en={"5": "Excellent", "3": "So-so"},
                    reasons=({"code": "slow", "label": "太慢", "label_en": "Too slow"},
                             {"code": "rude", "label": "冷漠"},
                             {"code": "wait", "label": "等候时间长"}),
                    phrases=("材料太多", "服务态度好", "窗口太少"), phrases_en=("Too many forms",),
                    away_text="午休中", away_text_en="Lunch break")
    screen = make_screen(config, min_interval=0.0)
    assert [b.text for b in screen.rating_buttons()] == ["太棒了", "满意", "一般", "不满意", "很差"]
    screen.tap(_header(screen).ids.switch)
    assert screen.app.title_text == "Window 3"
    # its own English, else the built-in English of a built-in text, else the Chinese
    assert [b.text for b in screen.rating_buttons()] == ["Excellent", "Satisfied", "So-so", "Unsatisfied", "很差"]
    screen.tap(screen.rating_buttons()[4])
    assert [c.text for c in screen.chips()] == ["Too slow", "冷漠", "Long wait"]
    screen.app.skip_reasons()
    screen.app.open_comment()
    screen.frames()
    phrases = [b.text for b in reversed(screen.screen(screens.COMMENT).ids.phrases.children)]
    assert phrases == ["Too many forms", "Friendly service", "窗口太少"]
    screen.tap(screen.screen(screens.COMMENT).ids.phrases.children[-1])
    assert [e["text"] for e in screen.events() if e["type"] == "feedback"] == ["Too many forms"]
    screen.pins.pin(4).drive_low()
    screen.advance(0.3)
    assert screen.current == screens.AWAY and screen.app.away_text == "午休中"
    screen.app.toggle_language()
    assert screen.app.away_text == "Lunch break"


def test_a_config_with_english_is_checked_and_one_without_is_unchanged():
    from shared.contract import ContractError, parse_config

    plain = Config(title="3号窗口")
    assert b"_en" not in plain.to_json(), "older kiosks and config versions see the same bytes"
    english = Config(title="3号窗口", title_en="Window 3", labels_en={"1": "Bad"}, phrases_en=("Efficient",),
                     reasons=({"code": "slow", "label": "太慢", "label_en": "Too slow"},), away_text_en="Closed")
    assert parse_config(english.to_json()) == english
    for bad in ({"labels_en": {"6": "Six"}}, {"labels_en": {"1": 5}}, {"title_en": "x" * 65},
                {"phrases_en": ["a"] * 6}, {"reasons": [{"code": "a", "label": "甲", "label_en": ["x"]}]},
                {"away_text_en": 3}):
        with pytest.raises(ContractError):
            parse_config(json.dumps({**json.loads(plain.to_json()), **bad}).encode())


# ---------------------------------------------------------------- ceval kiosk --screenshot
def test_the_screenshots_of_every_screen_are_written(kivy_window, tmp_path):
    from device.preview import SHOTS, render_screens
    from device.settings import KioskSettings

    base = KioskSettings(device="preview", window="w07", broker="mqtt://127.0.0.1:1", data_dir=tmp_path)
    out = tmp_path / "shots"
    out.mkdir()
    written = render_screens(kivy_window, out, _demo(), base, sizes=[(800, 480)])
    expected = {f"{shot}-800x480-{language}.png" for shot in SHOTS for language in ("zh", "en")}
    assert {p.name for p in written} == {p.name for p in out.iterdir()} == expected
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_the_screenshot_command_fails_in_one_line_on_a_folder_it_cannot_write(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = ceval("kiosk", "--screenshot", str(blocker / "shots"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot write screenshots to" in result.stderr, result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"v": 1, "scale": 7}')
    result = ceval("kiosk", "--screenshot", str(tmp_path / "out"), "--config", str(bad))
    assert result.returncode == 2 and result.stderr.startswith("ceval kiosk: ") and "scale" in result.stderr
    assert ceval("kiosk").returncode == 2
