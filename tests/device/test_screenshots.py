"""Every kiosk screen at 800x480, 1024x600 and 1280x800, compared with the reference images in tests/device/screens.

Set UPDATE_SCREENS=1 to write new references after a deliberate change of the layout, and look at them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from device import screens
from shared.contract import Config

REFERENCES = Path(__file__).with_name("screens")
CONFIG = Config(title="3号窗口", staff={"id": "1024", "name": "张敏"},
                comment_url="https://hall.example.cn/c/w03?t=demo")


def _pixels(path: Path) -> tuple[tuple[int, int], bytes]:
    from kivy.core.image import Image as CoreImage

    image = CoreImage(str(path), keep_data=True)
    data = image.image._data[0]
    assert data.fmt == "rgba", data.fmt
    return (data.width, data.height), data.data


def _differing_share(a: bytes, b: bytes) -> float:
    """Share of pixels where some channel differs by more than 48 of 255."""
    if a == b:
        return 0.0
    differing = sum(1 for i in range(0, len(a), 4) if max(abs(a[i + k] - b[i + k]) for k in range(3)) > 48)
    return differing / (len(a) / 4)


def _shoot(screen, name: str, size, tmp_path: Path) -> None:
    screen.frames(4)
    assert tuple(screen.app.root.size) == size
    shot = tmp_path / f"{name}.png"
    screen.app.root.export_to_png(str(shot))  # rendered into a buffer of the root's own size
    reference = REFERENCES / f"{name}-{size[0]}x{size[1]}.png"
    if os.environ.get("UPDATE_SCREENS"):
        reference.write_bytes(shot.read_bytes())
        return
    assert reference.is_file(), f"no reference image {reference.name}: run with UPDATE_SCREENS=1 and look at it"
    got_size, got = _pixels(shot)
    want_size, want = _pixels(reference)
    assert got_size == want_size == size
    share = _differing_share(got, want)
    assert share < 0.01, f"{name} at {size}: {share:.1%} of the pixels differ from {reference.name}"


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800)], ids=["800x480", "1024x600", "1280x800"])
def test_every_screen_looks_as_its_reference(make_screen, tmp_path, size):
    screen = make_screen(CONFIG, size=size, min_interval=0.0)
    _shoot(screen, screens.READY, size, tmp_path)
    screen.app.press(2)
    _shoot(screen, screens.RATED, size, tmp_path)
    screen.app.skip_reasons()
    _shoot(screen, screens.THANKS, size, tmp_path)
    screen.app.open_comment()
    _shoot(screen, screens.COMMENT, size, tmp_path)
    screen.app.close()
    screen.pins.pin(4).drive_low()
    screen.advance(0.3)
    _shoot(screen, screens.AWAY, size, tmp_path)


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800)], ids=["800x480", "1024x600", "1280x800"])
def test_invite_and_sign_in_screens_look_as_their_references(make_screen, tmp_path, size):
    from shared.pins import hash_pin

    config = Config(title="3号窗口", staff={"id": "1024", "name": "张敏"},
                    roster=({"id": "1024", "name": "张敏", "pin": hash_pin("123456", salt=b"0" * 16)},))
    screen = make_screen(config, size=size, invite_mode=True)
    _shoot(screen, screens.IDLE, size, tmp_path)
    screen.app.open_sign_in()
    _shoot(screen, screens.SIGNIN, size, tmp_path)


def test_chinese_glyphs_are_really_drawn(kivy_window):
    """A CJK character's texture differs from that of characters the font lacks (which all draw alike)."""
    from kivy.core.text import Label as CoreLabel

    def pixels(text: str) -> bytes:
        label = CoreLabel(text=text, font_size=40)
        label.refresh()
        return label.texture.pixels

    missing_a, missing_b = pixels("\ue000"), pixels("\ue001")  # private-use code points: no glyph
    assert missing_a == missing_b
    for text in ("评", "价", "窗"):
        assert pixels(text) != missing_a, f"{text} is drawn as a missing glyph"
    assert pixels("评") != pixels("价")
