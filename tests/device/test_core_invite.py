"""The server's invite for a case number (办件编号), through the kiosk's pure core with a fake clock."""
from __future__ import annotations

import pytest

from device import screens
from device.core import Kiosk, Timing
from shared.contract import Config, Invite

from .sinks import MemorySink

TIMING = Timing(thanks_seconds=3, reasons_timeout=15, invite_seconds=10, min_interval=0, comment_timeout=45)
CONFIG = Config(title="3号窗口", staff={"id": "1024", "name": "张敏"})


def invite(n: int, case: str = "370102-2026-000123", ttl: int = 120) -> Invite:
    return Invite(n, case, "2026-11-23T09:00:00.000+08:00", ttl)


@pytest.fixture
def sink():
    return MemorySink()


@pytest.fixture
def inviting(sink, clock):
    """A kiosk in invite mode: it rests on `idle`."""
    k = Kiosk(sink, clock, "w03", CONFIG, TIMING, invite_mode=True)
    k.start()
    return k


@pytest.fixture
def always(sink, clock):
    """A kiosk whose buttons are always open."""
    k = Kiosk(sink, clock, "w03", CONFIG, TIMING)
    k.start()
    return k


def ratings(sink):
    return [(e.score, e.case) for e in sink.events if e.type == "rating"]


def test_an_invite_opens_the_buttons_like_the_clerks_and_the_rating_carries_the_case(inviting, sink, clock):
    assert inviting.shown == screens.IDLE and not inviting.press(5)
    assert inviting.invite_for_case(invite(1))
    assert inviting.shown == screens.READY and inviting.case == "370102-2026-000123"
    clock.advance(9.9)
    inviting.tick()
    assert inviting.press(4)
    assert ratings(sink) == [(4, "370102-2026-000123")]
    assert inviting.case is None, "one invitation, one rating"
    clock.advance(3)
    inviting.tick()
    assert inviting.shown == screens.IDLE
    inviting.invite()  # the clerk's own 请评价 afterwards: no case
    inviting.press(5)
    assert ratings(sink)[-1] == (5, None)


def test_an_unanswered_invite_lapses_with_the_invite_time_and_its_case_is_forgotten(inviting, sink, clock):
    inviting.invite_for_case(invite(1))
    clock.advance(10)
    inviting.tick()
    assert inviting.shown == screens.IDLE and inviting.case is None
    assert not inviting.press(5)
    inviting.invite()
    inviting.press(5)
    assert ratings(sink) == [(5, None)]


def test_a_low_score_keeps_the_case_through_the_reason_question(inviting, sink, clock):
    inviting.invite_for_case(invite(1))
    clock.advance(8)
    assert inviting.press(1)
    clock.advance(5)  # past the invite time while the customer picks reasons
    inviting.tick()
    assert inviting.shown == screens.RATED
    inviting.choose_reasons(["slow"])
    assert [(e.score, e.reasons, e.case) for e in sink.events if e.type == "rating"] == [
        (1, ("slow",), "370102-2026-000123")]


def test_on_an_always_open_kiosk_the_next_rating_within_the_invite_time_carries_the_case(always, sink, clock):
    assert always.invite_for_case(invite(1, "A-1"))
    assert always.shown == screens.READY and always.case == "A-1"
    always.press(5)
    clock.advance(3)
    always.tick()
    always.press(3)
    assert ratings(sink) == [(5, "A-1"), (3, None)]
    clock.advance(3)
    always.tick()
    assert always.invite_for_case(invite(2, "A-2"))
    clock.advance(10)
    always.tick()
    assert always.shown == screens.READY and always.case is None, "the buttons stay, the case goes"
    always.press(4)
    assert ratings(sink)[-1] == (4, None)


def test_an_invite_while_away_is_dropped_and_away_drops_an_open_one(inviting, sink, clock):
    inviting.sign(True)
    assert not inviting.invite_for_case(invite(1))
    inviting.sign(False)
    assert inviting.shown == screens.IDLE and inviting.case is None
    assert inviting.invite_for_case(invite(2))
    inviting.sign(True)
    inviting.sign(False)
    assert inviting.shown == screens.IDLE and inviting.case is None
    inviting.invite()
    inviting.press(5)
    assert ratings(sink) == [(5, None)]


def test_away_during_the_reason_question_keeps_the_rating_with_its_case(inviting, sink):
    inviting.invite_for_case(invite(1))
    inviting.press(2)
    inviting.sign(True)
    assert ratings(sink) == [(2, "370102-2026-000123")]


def test_an_invite_while_the_previous_customer_finishes_waits_for_the_resting_screen(inviting, sink, clock):
    inviting.invite()
    inviting.press(5)
    assert inviting.shown == screens.THANKS
    inviting.open_comment()
    assert not inviting.invite_for_case(invite(1)), "the comment screen is not cut short"
    assert inviting.shown == screens.COMMENT and inviting.case is None
    clock.advance(20)
    inviting.comment("服务态度好")
    clock.advance(3)
    inviting.tick()
    assert inviting.shown == screens.READY and inviting.case == "370102-2026-000123"
    clock.advance(9.9)
    inviting.tick()
    inviting.press(4)
    assert ratings(sink) == [(5, None), (4, "370102-2026-000123")]


def test_a_waiting_invite_lapses_after_its_ttl(inviting, sink, clock):
    inviting.invite()
    inviting.press(1)  # the reason question: up to 15 s
    inviting.invite_for_case(invite(1, ttl=10))
    clock.advance(10)
    inviting.tick()
    assert inviting.shown == screens.RATED
    clock.advance(5)
    inviting.tick()  # the question times out into a rating without reasons, then the thank-you
    clock.advance(3)
    inviting.tick()
    assert inviting.shown == screens.IDLE and inviting.case is None
    assert ratings(sink) == [(1, None)]


def test_a_duplicate_delivery_of_an_invite_opens_nothing_again(inviting, sink, clock):
    assert inviting.invite_for_case(invite(7))
    inviting.press(5)
    clock.advance(3)
    inviting.tick()
    assert not inviting.invite_for_case(invite(7)), "QoS 1 may deliver twice"
    assert inviting.shown == screens.IDLE and not inviting.press(5)
    assert ratings(sink) == [(5, "370102-2026-000123")]


def test_a_newer_invite_replaces_an_unanswered_one(inviting, sink, clock):
    inviting.invite_for_case(invite(1, "CASE-1"))
    clock.advance(6)
    inviting.invite_for_case(invite(2, "CASE-2"))
    clock.advance(6)
    inviting.tick()
    assert inviting.shown == screens.READY, "the newer invite has its own invite time"
    inviting.press(3)
    assert ratings(sink) == [(3, "CASE-2")]


def test_the_clerks_invite_during_an_open_case_keeps_the_case(inviting, sink, clock):
    inviting.invite_for_case(invite(1))
    clock.advance(8)
    assert inviting.invite()
    clock.advance(8)
    inviting.tick()
    inviting.press(5)
    assert ratings(sink) == [(5, "370102-2026-000123")]


def test_listeners_hear_of_the_case(inviting):
    seen = []
    inviting.subscribe(lambda k: seen.append((k.shown, k.case)))
    inviting.invite_for_case(invite(1))
    assert seen[-1] == (screens.READY, "370102-2026-000123")


def test_an_invite_during_the_reason_question_leaves_that_rating_its_own_case(inviting, sink, clock):
    inviting.invite_for_case(invite(1, "CASE-A"))
    inviting.press(1)
    assert not inviting.invite_for_case(invite(2, "CASE-B")), "waits for the customer of CASE-A"
    inviting.choose_reasons(["wait"])
    clock.advance(3)
    inviting.tick()
    assert (inviting.shown, inviting.case) == (screens.READY, "CASE-B")
    inviting.press(5)
    assert ratings(sink) == [(1, "CASE-A"), (5, "CASE-B")]


def test_a_clerks_sign_in_over_an_open_invite_closes_it(sink, clock):
    from shared.pins import hash_pin

    roster = ({"id": "1024", "name": "张敏", "pin": hash_pin("246810")},)
    k = Kiosk(sink, clock, "w03", Config(title="3号窗口", roster=roster), TIMING, invite_mode=True)
    k.start()
    k.invite_for_case(invite(1))
    assert k.open_sign_in()
    assert k.sign_in("1024", "246810")
    assert (k.shown, k.case) == (screens.IDLE, None)
    k.invite()
    k.press(5)
    assert ratings(sink) == [(5, None)]
