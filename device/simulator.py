"""Simulated customers and clerks for demos, tests and benchmarks.

They act on a real `KioskRuntime`, so a simulated press takes exactly the path
of a real one: core, outbox, publisher.
"""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass

from . import screens
from .runtime import KioskRuntime

log = logging.getLogger(__name__)

SCORE_WEIGHTS = {5: 60, 4: 22, 3: 9, 2: 5, 1: 4}  # a hall that mostly does well
COMMENTS = ("办事很快，谢谢", "工作人员很耐心", "等候时间太长了", "希望多开几个窗口", "材料一次性说清楚就好了",
            "服务态度很好")  # the demo's hall is Chinese: so are its customers' comments


@dataclass(frozen=True)
class Pace:
    gap: tuple[float, float] = (4.0, 15.0)  # seconds between customers
    away_chance: float = 0.05               # chance that the clerk steps away instead
    away_seconds: tuple[float, float] = (10.0, 60.0)
    comment_chance: float = 0.1

    def faster(self, factor: float) -> Pace:
        """The same hall, `factor` times as busy: every wait divided by it."""
        return Pace((self.gap[0] / factor, self.gap[1] / factor), self.away_chance,
                    (self.away_seconds[0] / factor, self.away_seconds[1] / factor), self.comment_chance)


def simulate(runtime: KioskRuntime, stop: threading.Event, rng: random.Random, pace: Pace = Pace(),
             count: int | None = None) -> int:
    """Rate until `stop` is set or `count` ratings were given; return the number given."""
    kiosk = runtime.kiosk
    given = 0
    while not stop.is_set() and (count is None or given < count):
        if stop.wait(rng.uniform(*pace.gap)):
            break
        _wait_for_ready(runtime, stop)
        if count is None and rng.random() < pace.away_chance:
            runtime.act(kiosk.sign, True)
            stop.wait(rng.uniform(*pace.away_seconds))
            runtime.act(kiosk.sign, False)
            continue
        if kiosk.screen == screens.IDLE:
            runtime.act(kiosk.invite)  # invite mode: the clerk presses 请评价 first
        score = rng.choices(list(SCORE_WEIGHTS), weights=list(SCORE_WEIGHTS.values()))[0]
        score = min(score, kiosk.config.scale)
        if not runtime.act(kiosk.press, score):
            continue
        if kiosk.screen == screens.RATED:
            codes = [r["code"] for r in kiosk.config.reasons]
            runtime.act(kiosk.choose_reasons, rng.sample(codes, k=rng.randint(0, min(2, len(codes)))))
        given += 1
        if rng.random() < pace.comment_chance and runtime.act(kiosk.open_comment):
            runtime.act(kiosk.comment, rng.choice(COMMENTS))
    return given


def _wait_for_ready(runtime: KioskRuntime, stop: threading.Event) -> None:
    while not stop.is_set():
        runtime.act(runtime.kiosk.tick)
        if runtime.kiosk.screen in screens.AT_REST:
            return
        stop.wait(0.05)
