"""Text that fits its box on the kiosk, and touch targets a finger can hit.

`fit_font` picks the largest font size, from a ceiling down to a floor, at which a text fits a box,
measured with Kivy's core label (what the widgets draw with). Text wraps only between words (at
spaces): a word, and a Chinese label written without spaces is one word, never breaks inside
("非常不满意" stays on one line, "Unsatisfied" is not cut into "Unsatisfie/d"); only a text set as
Chinese (`cjk`: titles, messages) may also break a run of Chinese between its characters. When even
the floor does not fit, the result says so and the widget shortens the text with an ellipsis.

`min_touch_px` is 9 mm on the display the window size stands for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

TOUCH_MM = 9.0
# Pixels per millimetre of the displays assumed for the supported sizes (settings.SCREEN_SIZES), by their
# resolution (assumed from their panels):
#   800x480:  the Raspberry Pi 7" Touch Display (155 x 86 mm active area, 5.2 px/mm); held to 5.9 px/mm
#             (53 px for 9 mm), stricter than its panel's own figure;
#   1024x600: a 7" HDMI touch panel (154 x 86 mm, 6.7 px/mm: 60 px);
#   1280x800: a 10.1" touch panel (217 x 136 mm, 5.9 px/mm: 53 px).
# Any other size is taken at the densest of these, so its targets are at least as large.
PX_PER_MM = {(800, 480): 5.9, (1024, 600): 6.7, (1280, 800): 5.9}


def min_touch_px(size: tuple[int, int]) -> int:
    """The smallest width and height of a touch target, in pixels, on a display of `size` (9 mm)."""
    density = PX_PER_MM.get((int(size[0]), int(size[1])), max(PX_PER_MM.values()))
    return math.ceil(TOUCH_MM * density)


@dataclass(frozen=True)
class Fit:
    font_size: int
    fits: bool  # False: not even the floor fits; the text must be shortened
    text: str   # the text as it is to be drawn: with line breaks where `cjk` wrapping chose them


def fit_font(text: str, width: float, height: float, largest: float, smallest: float, *,
             cjk: bool = False, bold: bool = False, font_name: str | None = None) -> Fit:
    """The largest whole font size from `largest` down to `smallest` at which `text` fits `width` x `height`:
    wrapped between words (at spaces) and no taller, no word wider than the box. A run of Chinese is one word,
    unless `cjk`: then it may also break between its characters, as Chinese is set (preferably after
    punctuation such as 、 or ）and before （), and the breaks chosen are in `Fit.text`."""
    ceiling, floor = int(largest), max(1, min(int(largest), math.ceil(smallest)))
    text = text.strip()
    if not text or width <= 0 or height <= 0:
        return Fit(ceiling, not text, text)
    measure = _Measure(text, width, height, cjk, bold, font_name)
    if measure.lines(floor) is None:
        return Fit(floor, False, text)
    fits, too_big = floor, ceiling + 1  # binary search: `fits` fits, `too_big` does not
    while too_big - fits > 1:
        middle = (fits + too_big) // 2
        if measure.lines(middle) is not None:
            fits = middle
        else:
            too_big = middle
    return Fit(fits, True, measure.lines(fits))


_BREAK_AFTER = frozenset("、，。；：！？）」』】〕… ")
_BREAK_BEFORE = frozenset("（「『【〔")


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef" or "\uf900" <= char <= "\ufaff"


def _units(text: str) -> list[str]:
    """Pieces between which a line may break: at spaces, after Chinese punctuation, before an opening bracket."""
    units, current = [], ""
    for char in text:
        if char in _BREAK_BEFORE and current.strip():
            units.append(current)
            current = ""
        current += char
        if char in _BREAK_AFTER:
            units.append(current)
            current = ""
    return units + [current] if current else units


class _Measure:
    def __init__(self, text, width, height, cjk, bold, font_name):
        self.text, self.width, self.height, self.cjk = text, width, height, cjk
        self.options = {"bold": bold, **({"font_name": font_name} if font_name else {})}

    def lines(self, font_size: int) -> str | None:
        """The text with its line breaks at `font_size`, or None when it does not fit."""
        from kivy.core.text import Label as CoreLabel

        label = CoreLabel(font_size=font_size, **self.options)
        label.resolve_font_name()
        wide = lambda piece: label.get_extents(piece.strip())[0] > self.width  # noqa: E731
        if self.cjk:
            text = self._broken(wide)
            if text is None:
                return None
        else:
            if any(wide(word) for word in self.text.split()):
                return None
            text = self.text  # Kivy wraps it at its spaces
        wrapped = CoreLabel(text=text, font_size=font_size, text_size=(self.width, None), **self.options)
        wrapped.resolve_font_name()
        return text if wrapped.render()[1] <= self.height else None

    def _broken(self, wide) -> str | None:
        lines, line = [], ""
        for unit in _units(self.text):
            if not wide(line + unit):
                line += unit
                continue
            if line.strip():
                lines.append(line)
            line = ""
            if not wide(unit):
                line = unit
                continue
            if not any(_is_cjk(c) for c in unit):
                return None  # a word of letters wider than the box: never broken inside
            for char in unit:  # a long run of Chinese: between its characters
                if wide(line + char) and line.strip():
                    lines.append(line)
                    line = ""
                line += char
                if wide(line):
                    return None
        if line.strip():
            lines.append(line)
        return "\n".join(piece.strip() for piece in lines)
