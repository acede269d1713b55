"""The words on the kiosk, Chinese by default and English by switch.

The Chinese are the words of the halls the kiosk serves (评价, 工号, 意见簿 ...); the built-in rating labels,
reasons and phrases are the contract's defaults (shared/contract.py DEFAULT_*), and their English is here.
"""
from __future__ import annotations

from shared.contract import DEFAULT_LABELS, DEFAULT_PHRASES, DEFAULT_REASONS, Config

TEXTS = {
    "zh": {
        "prompt": "请对我的服务进行评价",
        "why": "请问哪里让您不满意？（可多选）",
        "send": "提交",
        "skip": "跳过",
        "thanks": "感谢您的评价",
        "case": "办件编号",  # shown small while an invite for a case is open
        "thanks_sub": "祝您生活愉快",
        "your_rating": "您的评价：",  # on the thank-you only where the window's settings show the score
        "comment": "留言",
        "comment_title": "意见簿 · 点选一句留言",
        "scan": "手机扫码写留言",
        "back": "返回",
        "away": "暂停服务，请稍候",
        "staff": "工号",
        "no_staff": "窗口",
        "welcome": "欢迎光临",
        "wait_invite": "办理完毕后请对我的服务进行评价",
        "signin_title": "工作人员签到",
        "staff_no": "工号",
        "pin": "密码",
        "ok": "确定",
        "cancel": "取消",
        "signout": "签退",
        "signin_failed": "工号或密码不正确",
        "signin_locked": "错误次数过多，请稍后再试",
        "switch": "English",
        "offline": "离线",
        # the outbox cannot store events (a full disk, a failing card): no rating is thanked until it can
        "storage_full": "存储已满，评价暂不能保存，请告知工作人员",
        "storage_error": "存储故障，评价暂不能保存，请告知工作人员",
    },
    "en": {
        "prompt": "How was our service?",
        "why": "What went wrong? (choose any)",
        "send": "Send",
        "skip": "Skip",
        "thanks": "Thank you for your feedback",
        "case": "Case no.",
        "thanks_sub": "Have a nice day",
        "your_rating": "Your rating: ",
        "comment": "Comment",
        "comment_title": "Tap a comment to leave it",
        "scan": "Scan to write a comment",
        "back": "Back",
        "away": "Window closed, back soon",
        "staff": "Staff no.",
        "no_staff": "Window",
        "welcome": "Welcome",
        "wait_invite": "Please rate our service when you are done",
        "signin_title": "Staff sign-in",
        "staff_no": "Staff no.",
        "pin": "PIN",
        "ok": "OK",
        "cancel": "Cancel",
        "signout": "Sign out",
        "signin_failed": "Wrong staff number or PIN",
        "signin_locked": "Too many attempts, try again later",
        "switch": "中文",
        "offline": "offline",
        "storage_full": "Storage is full: ratings cannot be saved. Please tell the staff.",
        "storage_error": "Storage fault: ratings cannot be saved. Please tell the staff.",
    },
}

EN_LABELS = {
    5: {"5": "Very satisfied", "4": "Satisfied", "3": "Fair", "2": "Unsatisfied", "1": "Very unsatisfied"},
    4: {"4": "Very satisfied", "3": "Satisfied", "2": "Unsatisfied", "1": "Very unsatisfied"},
    3: {"3": "Satisfied", "2": "Fair", "1": "Unsatisfied"},
}
EN_REASONS = {"slow": "Took too long", "attitude": "Unfriendly", "skill": "Not competent",
              "unclear": "Unclear instructions", "wait": "Long wait"}
EN_PHRASES = ("Efficient", "Friendly service", "Clear explanations", "Long wait", "Simplify the paperwork")


def words(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["zh"])


# The built-in Chinese texts' English, whatever list they appear in
EN_OF_DEFAULT_PHRASE = dict(zip(DEFAULT_PHRASES, EN_PHRASES))
EN_OF_DEFAULT_REASON = {r["label"]: EN_REASONS[r["code"]] for r in DEFAULT_REASONS}

# In English, each custom text shows its English from the config (`*_en`, extension); a built-in Chinese text
# without one shows the built-in English; any other text shows as it is (Chinese).


def title(config: Config, language: str, fallback: str) -> str:
    if language == "en" and config.title_en:
        return config.title_en
    return config.title or fallback


def labels(config: Config, language: str) -> dict[str, str]:
    if language != "en":
        return config.labels
    defaults = DEFAULT_LABELS[config.scale]
    return {score: config.labels_en.get(score)
            or (EN_LABELS[config.scale][score] if label == defaults[score] else label)
            for score, label in config.labels.items()}


def reasons(config: Config, language: str) -> list[tuple[str, str]]:
    if language != "en":
        return [(r["code"], r["label"]) for r in config.reasons]
    return [(r["code"], r.get("label_en") or EN_OF_DEFAULT_REASON.get(r["label"], r["label"]))
            for r in config.reasons]


def phrases(config: Config, language: str) -> tuple[str, ...]:
    if language != "en":
        return config.phrases
    given = config.phrases_en + ("",) * (len(config.phrases) - len(config.phrases_en))
    return tuple(en or EN_OF_DEFAULT_PHRASE.get(zh, zh) for zh, en in zip(config.phrases, given))


def away_text(config: Config, language: str) -> str:
    if language != "en":
        return config.away_text
    if config.away_text_en:
        return config.away_text_en
    return TEXTS["en"]["away"] if config.away_text == Config.away_text else config.away_text
