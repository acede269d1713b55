"""The demo hall's past: three months of what its kiosks would have sent, so that every report, trend and
comparison has something to show on the first visit.

Nothing is written around the rules: each kiosk's events go through the Ingestor as MQTT messages of a stream
of its own (contiguous seqs, ids of their own), at the kiosk clock of their time, with the kiosk assigned to its
window since before the first of them. The Ingestor then stores, pairs absences and opens the bad reviews'
follow-up cases as it does for live kiosks; the cases older than five days are then called back and closed
through the store, as a manager would have. Randomness is seeded: the same hall every time.
"""
from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain.zones import DEFAULT_ZONE, todays
from server.followup import cases as followup_cases
from server.ingest.ingestor import Ingestor, Message
from server.store import Store
from shared.contract import DEFAULT_REASONS
from shared.timefmt import DAY_MS, format_ts, to_ms

DAYS = 91  # about three months: this month, the previous one and the one before, whole
CLOSE_AFTER_DAYS = 5  # cases older than this were followed up and closed
DEMO_MANAGER = "demo"

# When customers come: relative weight of each opening hour, and of each weekday (1 = Monday).
HOURS = {9: 6, 10: 9, 11: 8, 13: 4, 14: 8, 15: 9, 16: 6}
WEEKDAYS = {1: 1.25, 2: 1.0, 3: 0.95, 4: 1.0, 5: 1.1, 6: 0.35}
PER_DAY = 34  # ratings of a typical window on a typical day

COMMENTS = {
    "good": ("办事很快，谢谢", "工作人员很耐心", "服务态度很好，点赞", "一次就办好了，不用来回跑", "讲解很清楚",
             "比以前方便多了", "窗口人员很专业", "效率高，值得表扬"),
    "bad": ("等候时间太长了", "材料一次性说清楚就好了", "希望多开几个窗口", "中午休息时间太长", "系统太慢了",
            "说话可以再耐心一点", "跑了两趟才办完"),
}
DAY_START, DAY_END = time(9, 0), time(17, 0)


class _ArrivalClock:
    """The server's clock as each day's events arrive (the Clock protocol of shared/clock.py)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.moment.timestamp()


@dataclass(frozen=True)
class Kiosk:
    window: str
    device: str
    staff: str
    quality: float  # 0..1: how well this window does (the hall's windows differ, so comparisons rank them)


def _score(rng: random.Random, quality: float) -> int:
    weights = {5: 40 + 40 * quality, 4: 22, 3: 10 - 4 * quality, 2: 6 - 4 * quality, 1: 4 - 3 * quality}
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _day_events(rng: random.Random, kiosk: Kiosk, day: date, zone: ZoneInfo, busy: float) -> list[dict]:
    """One window's day, in time order: ratings (some with reasons, some with a comment) and absences."""
    weekday = day.isoweekday()
    if weekday not in WEEKDAYS:
        return []
    count = max(0, round(rng.gauss(PER_DAY * WEEKDAYS[weekday] * busy, 5)))
    hours = rng.choices(list(HOURS), weights=list(HOURS.values()), k=count)
    moments = sorted(datetime.combine(day, time(h, rng.randrange(60), rng.randrange(60)), zone) for h in hours)
    events: list[dict] = []
    for moment in moments:
        score = _score(rng, kiosk.quality)
        rating = {"type": "rating", "at": moment, "score": score, "scale": 5}
        if score <= 2:
            rating["reasons"] = rng.sample([r["code"] for r in DEFAULT_REASONS], k=rng.randint(1, 2))
        events.append(rating)
        if rng.random() < (0.35 if score <= 2 else 0.06):
            events.append({"type": "feedback", "at": moment + timedelta(seconds=rng.randint(20, 90)),
                           "text": rng.choice(COMMENTS["bad" if score <= 3 else "good"]), "of": rating})
    for _ in range(rng.choices((0, 1, 2, 3), weights=(2, 5, 3, 1 + 2 * (1 - kiosk.quality)))[0]):
        start = datetime.combine(day, time(rng.choice((9, 10, 11, 14, 15, 16)), rng.randrange(60)), zone)
        minutes = rng.choice((3, 5, 6, 8, 10, 12, 15)) if rng.random() < 0.85 else rng.randint(20, 45)
        events.append({"type": "presence", "at": start, "state": "away"})
        events.append({"type": "presence", "at": start + timedelta(minutes=minutes), "state": "present"})
    events.sort(key=lambda e: e["at"])
    return _without_overlaps(events)


def _without_overlaps(events: list[dict]) -> list[dict]:
    """No rating while the clerk is away (the kiosk pauses then), and no absence inside another."""
    kept, away = [], False
    for event in events:
        if event["type"] == "presence":
            if (event["state"] == "away") == away:
                continue
            away = event["state"] == "away"
        elif away or (event["type"] == "feedback" and event["of"] not in kept):
            continue
        kept.append(event)
    if away:
        kept.append({"type": "presence", "at": max(e["at"] for e in kept) + timedelta(minutes=5), "state": "present"})
    return kept


def backfill(store: Store, kiosks: Sequence[Kiosk], now_ms: int, zone_name: str = DEFAULT_ZONE,
             days: int = DAYS, seed: int = 2026) -> int:
    """Store `days` days of history before today, and today's until now, for each kiosk (so the board has
    today's figures too); returns how many events were stored. Each kiosk must be assigned to its window
    from before the first day on (see `first_day_ms`)."""
    zone = ZoneInfo(zone_name)
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    today = now.date()
    clock = _ArrivalClock(datetime.fromtimestamp(now_ms / 1000, zone))
    ingestor = Ingestor(store, clock, zone=zone_name)
    rngs = {k.window: random.Random(f"{seed}-{k.window}") for k in kiosks}
    seqs = {k.window: 0 for k in kiosks}
    stored = 0
    for offset in range(days, -1, -1):  # one batch a day, as the day's events of every kiosk arrive
        day = today - timedelta(days=offset)
        busy = 1.0 + 0.15 * (days - offset) / days  # the hall gets a little busier month by month
        messages, last = [], None
        for kiosk in kiosks:
            stream = f"history-{kiosk.device}"
            ids: dict[int, str] = {}
            for event in _day_events(rngs[kiosk.window], kiosk, day, zone, busy):
                if event["at"] >= now:
                    break  # today's are only those that already happened
                seqs[kiosk.window] += 1
                seq = seqs[kiosk.window]
                body = {"v": 1, "id": f"{stream}-{seq:06d}", "stream": stream, "seq": seq,
                        "ts": format_ts(event["at"]), "window": kiosk.window, "type": event["type"],
                        "staff": kiosk.staff}
                if event["type"] == "rating":
                    body.update(score=event["score"], scale=event["scale"])
                    if event.get("reasons"):
                        body["reasons"] = event["reasons"]
                    ids[id(event)] = body["id"]
                elif event["type"] == "presence":
                    body["state"] = event["state"]
                else:
                    body.update(text=event["text"], rating=ids[id(event["of"])])
                messages.append(Message(f"ceval/v1/{kiosk.device}/event",
                                        json.dumps(body, ensure_ascii=False).encode()))
                last = max(last or event["at"], event["at"])
        if not messages:
            continue
        clock.moment = last + timedelta(minutes=1)  # received just after the day's last event
        result = ingestor.handle(messages)
        if result.rejected:
            raise RuntimeError(f"the demo's history of {day} was refused: {result.rejected} of {len(messages)} "
                               "events")
        stored += result.stored
    _follow_up(store, now_ms, zone_name)
    return stored


def first_day_ms(now_ms: int, zone_name: str = DEFAULT_ZONE, days: int = DAYS) -> int:
    """Midnight of the history's first day: when the demo's kiosks were assigned to their windows."""
    zone = ZoneInfo(zone_name)
    today = datetime.fromtimestamp(now_ms / 1000, zone).date()
    return to_ms(datetime.combine(today - timedelta(days=days), time(0), zone))


def _follow_up(store: Store, now_ms: int, zone_name: str) -> None:
    """Cases opened more than five days ago were called back and closed; the newer ones wait."""
    limit = now_ms - CLOSE_AFTER_DAYS * DAY_MS
    rng = random.Random(now_ms // DAY_MS)
    now = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(zone_name))
    dates = todays(now, store.cases.case_zones(zone_name))
    with store.db.atomic():  # one transaction: a few hundred cases in a moment
        _close_old(store, store.cases.cases(zone_name, dates, status="open", end=limit, limit=100_000), rng)


def _close_old(store: Store, cases: list[dict], rng: random.Random) -> None:
    for case in cases:
        done = case["opened_at"] + rng.randint(1, 4) * DAY_MS
        followup_cases.callback(store, case["id"], done, "已电话回访，说明了办理要求", DEMO_MANAGER, done)
        followup_cases.verdict(store, case["id"], rng.choice(("satisfied", "satisfied", "basically", "unsatisfied")),
                           DEMO_MANAGER, done)
        followup_cases.close(store, case["id"], DEMO_MANAGER, done)
