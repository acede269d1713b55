"""A window's kiosk settings page: title, assigned clerk, scale and labels, reasons, language, away text, phrases,
each text in Chinese and optionally in English (shown when the kiosk speaks English; the Chinese one otherwise).

Managers edit the windows of their own sites (server/web/scope.py), admins every window. A save is checked
the way the kiosk will read it (shared.contract.parse_config) before anything is stored; the collector
(server/ingest/config_push.py) then publishes the window's retained config within 2 s.
"""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.domain.kiosk_config import Clerk, Target, build_config, is_sent, settings_json, window_settings
from server.domain.registry import MAX_TITLE
from server.web.auth import login_required
from server.web.context import get_store, hall_time
from server.web.forms import Invalid, chosen_clerk, collect, text
from server.web.scope import require_window
from shared.contract import (
    DEFAULT_LABELS,
    MAX_EN_TITLE,
    MAX_PHRASES,
    MAX_REASON_CHARS,
    MAX_REASONS,
    SCALES,
    Config,
    ContractError,
    default_title,
    parse_config,
)

log = logging.getLogger(__name__)

bp = Blueprint("window_kiosk", __name__, url_prefix="/admin")

MAX_LABEL = 20        # a score's or a reason's text on a kiosk button
MAX_AWAY_TEXT = 40
MAX_PHRASE = 40       # docs/protocol.md: phrases of 1 to 40 characters
MAX_LABEL_EN = 32     # English is longer than Chinese: a button's English, a reason's, a phrase's
MAX_PHRASE_EN = 80
MAX_AWAY_TEXT_EN = 80
EN_SEPARATOR = "|"    # a reason's or a phrase's line: the Chinese, then optionally "| English"
LANGUAGES = ("zh", "en")


# ---------------------------------------------------------------- what is stored, as the form shows it
def _stored(row: dict) -> Config:
    """The window's kiosk settings as a Config (defaults where none are stored)."""
    return Config(**window_settings(Target("", row["window"], row["title"], row["site"], settings=row["config"])))


def _form_of(row: dict) -> dict:
    config = _stored(row)
    phrases_en = config.phrases_en + ("",) * (len(config.phrases) - len(config.phrases_en))
    form = {"title": row["title"] or default_title(row["window"]), "clerk": row["clerk"] or "",
            "scale": str(config.scale), "language": config.language, "away_text": config.away_text,
            "title_en": config.title_en, "away_text_en": config.away_text_en,
            "thanks_show_score": "1" if config.thanks_show_score else "",
            "reasons": "\n".join(_with_english(f"{r['code']} {r['label']}", r.get("label_en"))
                                 for r in config.reasons),
            "phrases": "\n".join(_with_english(zh, en) for zh, en in zip(config.phrases, phrases_en))}
    for scale in SCALES:
        labels = config.labels if scale == config.scale else DEFAULT_LABELS[scale]
        form.update({f"labels_{scale}_{score}": labels[str(score)] for score in range(1, scale + 1)})
        if scale == config.scale:
            form.update({f"labels_en_{scale}_{score}": text for score, text in config.labels_en.items()})
    return form


def _with_english(chinese: str, english: str | None) -> str:
    return f"{chinese} {EN_SEPARATOR} {english}" if english else chinese


# ---------------------------------------------------------------- reading the form
def _scale() -> int:
    value = request.form.get("scale", "").strip()
    if value not in {str(s) for s in SCALES}:
        raise Invalid(_("评价等级须为 3、4 或 5 级。"))
    return int(value)


def _labels(scale: int | None) -> tuple[dict[str, str], dict[str, str]]:
    """The chosen scale's labels (an empty one is the default of its score) and those given in English."""
    if scale is None:
        return {}, {}
    labels, english, errors = {}, {}, []
    for score in range(1, scale + 1):
        value = " ".join(request.form.get(f"labels_{scale}_{score}", "").split()) or DEFAULT_LABELS[scale][str(score)]
        if len(value) > MAX_LABEL:
            errors.append(_("%(score)s 分的文字最长 %(n)s 个字。", score=score, n=MAX_LABEL))
        labels[str(score)] = value
        value_en = " ".join(request.form.get(f"labels_en_{scale}_{score}", "").split())
        if len(value_en) > MAX_LABEL_EN:
            errors.append(_("%(score)s 分的英文最长 %(n)s 个字符。", score=score, n=MAX_LABEL_EN))
        if value_en:
            english[str(score)] = value_en
    if errors:
        raise Invalid(*errors)
    return labels, english


def _lines(name: str) -> list[tuple[int, str]]:
    """The non-blank lines of a text area, numbered from 1."""
    return [(n, line.strip()) for n, line in enumerate(request.form.get(name, "").splitlines(), 1) if line.strip()]


def _english_part(line: str) -> tuple[str, str]:
    """A line's Chinese and its English after the separator ("" when none), spaces collapsed;
    Invalid when the separator appears twice."""
    parts = line.split(EN_SEPARATOR)
    if len(parts) > 2:
        raise ValueError
    return " ".join(parts[0].split()), " ".join(parts[1].split()) if len(parts) > 1 else ""


def _reasons() -> tuple[dict[str, str], ...]:
    """One reason a line, `code 文字`; an empty box offers none."""
    lines = _lines("reasons")
    if len(lines) > MAX_REASONS:
        raise Invalid(_("原因最多 %(max)s 条。", max=MAX_REASONS))
    reasons, errors, codes = [], [], set()
    for n, line in lines:
        parts = line.split(maxsplit=1)
        code, rest = parts[0], parts[1] if len(parts) > 1 else ""
        try:
            label, label_en = _english_part(rest)
        except ValueError:
            errors.append(_("原因第 %(n)s 行：“|”只能有一个，其后是英文。", n=n))
            continue
        if len(code) > MAX_REASON_CHARS:
            errors.append(_("原因第 %(n)s 行：代码最长 %(max)s 个字符。", n=n, max=MAX_REASON_CHARS))
        elif not label:
            errors.append(_("原因第 %(n)s 行：请在代码后空一格写出原因文字，如“slow 办理时间长”。", n=n))
        elif len(label) > MAX_LABEL:
            errors.append(_("原因第 %(n)s 行：原因文字最长 %(max)s 个字。", n=n, max=MAX_LABEL))
        elif code in codes:
            errors.append(_("原因第 %(n)s 行：代码 %(code)s 重复了。", n=n, code=code))
        elif len(label_en) > MAX_LABEL_EN:
            errors.append(_("原因第 %(n)s 行：英文最长 %(max)s 个字符。", n=n, max=MAX_LABEL_EN))
        codes.add(code)
        reasons.append({"code": code, "label": label, **({"label_en": label_en} if label_en else {})})
    if errors:
        raise Invalid(*errors)
    return tuple(reasons)


def _phrases() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """One quick comment a line, optionally `| English`; an empty box offers none. The phrases, and their
    English (one for each phrase, "" where none is given; no entries when none is)."""
    lines = _lines("phrases")
    if len(lines) > MAX_PHRASES:
        raise Invalid(_("快捷留言最多 %(max)s 条。", max=MAX_PHRASES))
    phrases, english, errors = [], [], []
    for n, line in lines:
        try:
            phrase, phrase_en = _english_part(line)
        except ValueError:
            errors.append(_("快捷留言第 %(n)s 行：“|”只能有一个，其后是英文。", n=n))
            continue
        if not phrase:
            errors.append(_("快捷留言第 %(n)s 行：请在“|”前写出中文留言。", n=n))
        elif len(phrase) > MAX_PHRASE:
            errors.append(_("快捷留言第 %(n)s 行最长 %(max)s 个字。", n=n, max=MAX_PHRASE))
        elif len(phrase_en) > MAX_PHRASE_EN:
            errors.append(_("快捷留言第 %(n)s 行：英文最长 %(max)s 个字符。", n=n, max=MAX_PHRASE_EN))
        phrases.append(phrase)
        english.append(phrase_en)
    if errors:
        raise Invalid(*errors)
    return tuple(phrases), tuple(english) if any(english) else ()


def _language() -> str:
    value = request.form.get("language", "")
    if value not in LANGUAGES:
        raise Invalid(_("请选择评价器的语言。"))
    return value


# ---------------------------------------------------------------- whether the kiosk has it
def _delivery(row: dict) -> dict:
    """The window's kiosk and whether it has been sent the config the window has now."""
    store = get_store()
    target_row = store.kiosk_config.config_target(row["window"])
    if target_row is None:
        return {"device": None}
    target = Target(*target_row)
    roster = [Clerk(*c) for c in store.kiosk_config.site_roster(target.site)] if target.site else []
    return {"device": target.device, "sent": is_sent(build_config(target, roster, None), target.sent),
            "sent_at": hall_time(target.sent_at)}  # "" when never sent


def _render(row: dict, form: dict, errors: list[str] = (), status: int = 200):
    clerks = get_store().registry.clerks([row["site"]], active=True)  # [None]: the clerks of no site
    return render_template("admin_window_kiosk.html", window=row, form=form, errors=errors, clerks=clerks,
                           scales=SCALES, default_labels=DEFAULT_LABELS, delivery=_delivery(row),
                           max_title=MAX_TITLE, max_label=MAX_LABEL, max_away=MAX_AWAY_TEXT,
                           max_title_en=MAX_EN_TITLE, max_label_en=MAX_LABEL_EN, max_away_en=MAX_AWAY_TEXT_EN,
                           max_phrases=MAX_PHRASES, max_reasons=MAX_REASONS), status


# ---------------------------------------------------------------- the page
@bp.get("/windows/<window>/kiosk")
@login_required("manager")
def kiosk(window: str):
    row = require_window(window)  # 404 outside the user's sites
    return _render(row, _form_of(row))


@bp.post("/windows/<window>/kiosk")
@login_required("manager")
def save_kiosk(window: str):
    row = require_window(window)
    (title, title_en, scale, language, away_text, away_text_en, reasons, phrases), errors = collect(
        lambda: text("title", _("窗口名称"), MAX_TITLE),
        lambda: text("title_en", _("英文窗口名称"), MAX_EN_TITLE, required=False), _scale, _language,
        lambda: text("away_text", _("暂停服务提示"), MAX_AWAY_TEXT, required=False),
        lambda: text("away_text_en", _("英文暂停服务提示"), MAX_AWAY_TEXT_EN, required=False),
        _reasons, _phrases)
    (labels,), label_errors = collect(lambda: _labels(scale))
    errors += label_errors
    clerk = chosen_clerk(row["site"])
    if isinstance(clerk, Invalid):
        errors.extend(clerk.args)
    config = None
    if not errors:
        (labels, labels_en), (phrases, phrases_en) = labels, phrases
        config = Config(title=title, scale=scale, labels=labels, reasons=reasons, language=language,
                        away_text=away_text or Config.away_text, phrases=phrases, title_en=title_en or "",
                        labels_en=labels_en, phrases_en=phrases_en, away_text_en=away_text_en or "",
                        thanks_show_score=request.form.get("thanks_show_score") == "1")
        try:  # exactly what the kiosk will accept
            if parse_config(config.to_json()) != config:
                raise ContractError("the kiosk would read it differently")
        except ContractError as exc:
            log.warning("window %s: kiosk settings refused by the contract: %s", window, exc)
            errors.append(_("评价器不能接受这些设置：%(reason)s", reason=exc.reason))
    if errors:
        return _render(row, dict(request.form), errors, 400)
    get_store().registry.update_window_kiosk(window, title, clerk, settings_json(config))
    log.info("window %s: kiosk settings saved (title %r, clerk %s, scale %d, language %s, %d reasons, %d phrases)",
             window, title, clerk, scale, language, len(reasons), len(phrases))
    flash(_("已保存窗口 %(window)s 的评价器设置，评价器将在几秒内更新。", window=window))
    return redirect(url_for("window_kiosk.kiosk", window=window))

