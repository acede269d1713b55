"""How the web pages name people and ratings, in the reader's language: a clerk as "李娜（1046）" in Chinese and
"李娜 (1046)" in English, a rating as "2/5 不满意" or "2/5 Unsatisfied". One home for both, used by the pages
(as the Jinja filters `person` and `rating_level`) and by the views that dress rows."""
from __future__ import annotations

from flask import Flask
from flask_babel import get_locale, lazy_gettext

from server.domain import gbt39046

LEVEL_NAMES = {"非常满意": lazy_gettext("非常满意"), "满意": lazy_gettext("满意"), "基本满意": lazy_gettext("基本满意"),
               "不满意": lazy_gettext("不满意"), "非常不满意": lazy_gettext("非常不满意")}


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def in_parentheses(text: str) -> str:
    """Full-width parentheses in Chinese, a space and ASCII ones in English."""
    return f" ({text})" if _english() else f"（{text}）"


def person(name: str | None, number: str | None) -> str:
    """A clerk by name and staff number; the number alone when the roster has no name; "—" for nobody."""
    if not number:
        return name or "—"
    return f"{name}{in_parentheses(number)}" if name else number


def level_name(score: int | None, scale: int | None) -> str:
    """The GB/T level a score names on its scale ("不满意" / "Unsatisfied"); empty when it names none."""
    if score is None or scale is None:
        return ""
    try:
        return str(LEVEL_NAMES[gbt39046.level(int(score), int(scale))])
    except (gbt39046.BadScore, ValueError):
        return ""


def rating_level(score: int | None, scale: int | None) -> str:
    """A rating as the pages show it: "2/5 不满意" / "2/5 Unsatisfied"; empty for no rating."""
    if score is None or scale is None:
        return ""
    name = level_name(score, scale)
    return f"{score}/{scale} {name}".rstrip()


def init_app(app: Flask) -> None:
    app.add_template_filter(person, "person")
    app.add_template_filter(rating_level, "rating_level")
    app.add_template_global(in_parentheses, "in_parentheses")
