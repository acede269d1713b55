"""The record of one evaluation in the layout of GB/T 39046-2020 table 9, and the level mapping it needs.

Pure: no SQL, no Flask. Our own score keeps "higher is better" on its scale (3, 4 or 5); the export names
the level the customer pressed and gives its code in both directions:

    scale 5   5 非常满意   4 满意   3 基本满意   2 不满意   1 非常不满意
    scale 4   4 非常满意   3 满意               2 不满意   1 非常不满意
    scale 3               3 满意   2 基本满意   1 不满意

(the words on the kiosk's buttons, shared.contract.DEFAULT_LABELS). Codes:

    level          GB/T 39046 A.8   provincial upload interfaces
    非常满意              1                   5
    满意                  2                   4
    基本满意              3                   3
    不满意                4                   2
    非常不满意            5                   1
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

from shared.timefmt import local_text

LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")  # in GB/T code order: code = position + 1

# our score on each scale -> its level
SCORE_LEVELS: dict[int, dict[int, str]] = {
    5: {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"},
    4: {4: "非常满意", 3: "满意", 2: "不满意", 1: "非常不满意"},
    3: {3: "满意", 2: "基本满意", 1: "不满意"},
}

# 评价渠道 of GB/T 39046 with the codes most provinces use; ours is one of the two hall terminals
CHANNELS = {"PC端": "1", "移动服务端": "2", "二维码": "3", "政务大厅平板电脑": "4", "政务大厅其他终端": "5",
            "电话": "6", "短信": "7"}
HALL_CHANNELS = ("政务大厅平板电脑", "政务大厅其他终端")
DEFAULT_SETTINGS = {"channel": "政务大厅平板电脑", "channel_code": "4", "area_code": "", "site_area_codes": {}}

ANONYMOUS = "匿名"
FIRST_EVALUATION = 1  # 评价次数: 1 the first evaluation, 2 a follow-up one; a kiosk press is always a first
APPEAL_RESULTS = {None: "无", "pending": "申诉中", "upheld": "申诉成立", "rejected": "申诉不成立"}

HEADERS = ["办件编号", "评价渠道", "评价渠道代码", "评价人", "评价时间", "评价次数", "满意度", "满意度代码",
           "省级接口代码", "文字评价", "行政区划", "窗口", "工号", "申诉结果", "评价记录号", "工号核实"]
KEYS = ["case_no", "channel", "channel_code", "evaluator", "time", "count", "level", "level_code",
        "provincial_code", "text", "area_code", "window", "staff", "appeal", "rating_id", "staff_verified"]
STAFF_VERIFIED = {None: "", True: "是", False: "否"}  # the CSV's words for `staff_verified`

AREA_CODE = re.compile(r"[0-9]{1,9}")  # ASCII digits only (\d would take any script's digits)
CHANNEL_CODE = re.compile(r"[0-9A-Za-z]{1,4}")


class BadScore(ValueError):
    pass


def level(score: int, scale: int) -> str:
    """The level a score names on its scale; BadScore for a scale or score the contract does not allow."""
    try:
        return SCORE_LEVELS[scale][score]
    except KeyError:
        raise BadScore(f"score {score!r} on scale {scale!r} has no level") from None


def gbt_code(name: str) -> int:
    """GB/T 39046 A.8: 非常满意 = 1 … 非常不满意 = 5."""
    return LEVELS.index(name) + 1


def provincial_code(name: str) -> int:
    """The provincial interfaces: 非常满意 = 5 … 非常不满意 = 1."""
    return len(LEVELS) - LEVELS.index(name)


def level_of_gbt_code(code: int) -> str:
    if not isinstance(code, int) or not 1 <= code <= len(LEVELS):
        raise BadScore(f"GB/T level code {code!r} is not 1 to 5")
    return LEVELS[code - 1]


def level_of_provincial_code(code: int) -> str:
    if not isinstance(code, int) or not 1 <= code <= len(LEVELS):
        raise BadScore(f"provincial level code {code!r} is not 1 to 5")
    return LEVELS[len(LEVELS) - code]


def gbt_to_provincial(code: int) -> int:
    return provincial_code(level_of_gbt_code(code))


@dataclass(frozen=True)
class Record:
    """One row of the export (English keys are the JSON's, HEADERS the CSV's, in the same order)."""
    case_no: str | None
    channel: str
    channel_code: str
    evaluator: str
    time: str
    count: int
    level: str
    level_code: int
    provincial_code: int
    text: str | None
    area_code: str | None
    window: str
    staff: str | None
    appeal: str | None     # None, pending, upheld, rejected (the rating's latest appeal)
    rating_id: str
    staff_verified: bool | None  # the staff number is on the roster of the window's site (server/reporting/verified.py)

    def row(self) -> list:
        """The CSV row: the appeal and whether the staff number is verified in words."""
        values = asdict(self)
        values["appeal"] = APPEAL_RESULTS[self.appeal]
        values["staff_verified"] = STAFF_VERIFIED[self.staff_verified]
        return [values[key] for key in KEYS]

    def json(self) -> dict:
        return asdict(self)


def record(rating: dict, settings: dict, tz: ZoneInfo) -> Record:
    """A stored rating (event_id, window, site, staff, at, score, scale, case_no, text, appeal, and `verified`
    beside its staff number) as a record."""
    name = level(rating["score"], rating["scale"])
    area = (settings.get("site_area_codes") or {}).get(rating.get("site") or "") or settings.get("area_code")
    return Record(
        case_no=rating["case_no"], channel=settings["channel"], channel_code=settings["channel_code"],
        evaluator=ANONYMOUS,
        time=local_text(rating["at"], tz),
        count=FIRST_EVALUATION, level=name, level_code=gbt_code(name), provincial_code=provincial_code(name),
        text=rating["text"], area_code=area or None, window=rating["window"], staff=rating["staff"],
        appeal=rating["appeal"], rating_id=rating["event_id"], staff_verified=rating.get("verified"))


def check_settings(channel: str, channel_code: str, area_code: str, site_area_codes: dict[str, str]) -> list[str]:
    """What is wrong with export settings, as (untranslated) problems; empty when they are good."""
    problems = []
    if channel not in CHANNELS:
        problems.append("channel")
    if not CHANNEL_CODE.fullmatch(channel_code):
        problems.append("channel_code")
    for code in (area_code, *site_area_codes.values()):
        if code and not AREA_CODE.fullmatch(code):
            problems.append("area_code")
            break
    return problems
