"""The kiosk's pure core, driven with a fake clock and an in-memory sink."""
from __future__ import annotations

import pytest

from device import screens
from device.core import Kiosk, Timing
from shared.contract import DEFAULT_LABELS, Config

from .sinks import MemorySink


@pytest.fixture
def sink():
    return MemorySink()


@pytest.fixture
def kiosk(sink, clock):
    k = Kiosk(sink, clock, "w03", Config(title="3号窗口", staff={"id": "1024", "name": "张敏"}),
              Timing(thanks_seconds=3, reasons_timeout=15))
    k.start()
    return k


def test_start_states_presence(kiosk, sink):
    assert [(e.type, e.state, e.staff) for e in sink.events] == [("presence", "present", "1024")]
    assert kiosk.shown == screens.READY


def test_a_good_score_is_recorded_then_thanked(kiosk, sink, clock):
    assert kiosk.press(5)
    rating = sink.events[-1]
    assert (rating.type, rating.score, rating.scale, rating.reasons, rating.window) == ("rating", 5, 5, (), "w03")
    assert kiosk.shown == screens.THANKS
    assert not kiosk.press(4), "no second rating while the thank-you shows"
    clock.advance(2.9)
    kiosk.tick()
    assert kiosk.shown == screens.THANKS
    clock.advance(0.2)
    kiosk.tick()
    assert kiosk.shown == screens.READY


def test_a_low_score_asks_why_and_records_the_reasons(kiosk, sink):
    assert kiosk.press(2)
    assert kiosk.shown == screens.RATED and sink.events[-1].type == "presence", "nothing recorded before the answer"
    kiosk.choose_reasons(["slow", "not-offered"])
    assert sink.events[-1].reasons == ("slow",)
    assert kiosk.shown == screens.THANKS


def test_the_reason_question_times_out_into_a_rating_without_reasons(kiosk, sink, clock):
    kiosk.press(1)
    clock.advance(14.9)
    kiosk.tick()
    assert kiosk.shown == screens.RATED
    clock.advance(0.2)
    kiosk.tick()
    assert (sink.events[-1].score, sink.events[-1].reasons) == (1, ())
    assert kiosk.shown == screens.THANKS


def test_presses_do_not_count_while_away(kiosk, sink):
    kiosk.sign(True)
    assert kiosk.shown == screens.AWAY
    assert not kiosk.press(5)
    kiosk.sign(True)  # the same level again is no change
    kiosk.sign(False)
    assert [(e.type, e.state) for e in sink.events[1:]] == [("presence", "away"), ("presence", "present")]
    assert kiosk.press(5)


def test_away_during_the_reason_question_keeps_the_rating(kiosk, sink):
    kiosk.press(1)
    kiosk.sign(True)
    assert [e.type for e in sink.events[1:]] == ["rating", "presence"]
    assert kiosk.shown == screens.AWAY


def test_a_comment_belongs_to_the_rating_just_made(kiosk, sink):
    kiosk.press(4)
    rating = sink.events[-1]
    comment = kiosk.comment("很好")
    assert (comment.type, comment.text, comment.rating) == ("feedback", "很好", rating.id)


def test_a_new_clerk_from_the_config_is_recorded(kiosk, sink):
    kiosk.apply_config(Config(title="3号窗口", staff={"id": "2048", "name": "王磊"}))
    assert (sink.events[-1].type, sink.events[-1].staff) == ("staff", "2048")
    kiosk.apply_config(Config(title="三号窗口", staff={"id": "2048", "name": "王磊"}))
    assert sink.events[-1].type == "staff" and len(sink.events) == 2, "a title change is no staff change"
    kiosk.apply_config(Config(title="3号窗口", staff=None, scale=3, labels=DEFAULT_LABELS[3]))
    assert (sink.events[-1].type, sink.events[-1].staff) == ("staff", None)
    kiosk.press(3)
    assert (sink.events[-1].score, sink.events[-1].scale) == (3, 3)


def test_a_score_outside_the_scale_is_a_programming_error(kiosk):
    with pytest.raises(ValueError):
        kiosk.press(6)


@pytest.fixture
def inviting(sink, clock):
    k = Kiosk(sink, clock, "w03", Config(title="3号窗口"), Timing(invite_seconds=10, min_interval=0), invite_mode=True)
    k.start()
    return k


def test_invite_mode_counts_presses_only_after_the_clerks_invitation(inviting, sink, clock):
    assert inviting.shown == screens.IDLE
    assert not inviting.press(5)
    assert inviting.invite()
    assert inviting.shown == screens.READY
    clock.advance(10.1)
    inviting.tick()
    assert inviting.shown == screens.IDLE, "the invitation lapsed"
    assert not inviting.press(5)
    inviting.invite()
    assert inviting.press(4)
    clock.advance(3.1)
    inviting.tick()
    assert inviting.shown == screens.IDLE, "one invitation, one rating"
    assert [e.score for e in sink.events if e.type == "rating"] == [4]


def test_invite_is_nothing_outside_invite_mode_or_while_away(kiosk, inviting):
    assert not kiosk.invite()
    inviting.sign(True)
    assert not inviting.invite()


def test_the_opinion_book_opens_after_a_rating_and_times_out(kiosk, sink, clock):
    assert not kiosk.open_comment(), "only after a rating"
    kiosk.press(5)
    assert kiosk.open_comment() and kiosk.shown == screens.COMMENT
    clock.advance(46)
    kiosk.tick()
    assert kiosk.shown == screens.READY
    assert kiosk.comment("太慢了") is None, "no comment without a rating just made"


def test_sign_in_checks_the_pin_offline_and_locks_after_five_failures(sink, clock):
    from shared.pins import hash_pin

    roster = ({"id": "2048", "name": "王磊", "pin": hash_pin("432100")},)
    k = Kiosk(sink, clock, "w03", Config(title="3号窗口", staff={"id": "1024", "name": "张敏"}, roster=roster))
    k.start()
    assert k.open_sign_in()
    for _ in range(5):
        assert not k.sign_in("2048", "000000")
    assert k.signin_locked
    assert not k.sign_in("2048", "432100"), "locked even with the right PIN"
    clock.advance(301)
    assert k.sign_in("2048", "432100")
    assert (k.staff, sink.events[-1].type, sink.events[-1].staff) == ("2048", "staff", "2048")
    k.press(5)
    assert sink.events[-1].staff == "2048"
    k.sign_out()
    assert (k.staff, sink.events[-1].type, sink.events[-1].staff) == ("1024", "staff", "1024")


def test_a_clerk_taken_off_the_roster_is_signed_out(sink, clock):
    from shared.pins import hash_pin

    roster = ({"id": "2048", "name": "王磊", "pin": hash_pin("432100")},)
    k = Kiosk(sink, clock, "w03", Config(roster=roster))
    k.start()
    k.open_sign_in()
    k.sign_in("2048", "432100")
    k.apply_config(Config())
    assert k.staff is None and sink.events[-1].type == "staff"
