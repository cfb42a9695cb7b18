"""Review mode, pins, the call log, timeouts and reply links (CONTRACT v1.1): one rule
each, feasible and infeasible."""

import datetime as dt

from services.common import links
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.timeouts import expire
from tests.builders import at, booking, ev, slots
from tests.unit.replying import REPLY_TIME, of_type, offer_of, offered, ops, outcome, reply, run

REVIEW = planning_config(Settings(review_centres="other, capago-alger", link_secrets="s2,s1"))
LINKS = planning_config(Settings(link_secrets="s2,s1", public_url="https://reslot.example/"))
TWO = (("b1", at(3, 16)), ("b2", at(3, 17)))
APPROVED_AT = REPLY_TIME + dt.timedelta(hours=3)


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)


def test_messages_carry_the_reply_link_code_and_deadline_when_links_are_on() -> None:
    state, out = offered(("b1", at(3, 16)), config=LINKS)
    (note,) = of_type(out, "visa.notification.requested.v1")
    offer_id = offer_of(state, "b1")
    url = note.data.variables["reply_url"]
    assert url.startswith("https://reslot.example/r/")
    now = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    assert links.verify(url.rsplit("/", 1)[1], ["s1", "s2"], now) == offer_id
    assert note.data.variables["reply_code"] == links.reply_code(offer_id, "s2")
    assert note.data.variables["reply_by"] == "2025-11-27T10:00:00+01:00"  # local time
    _, plain = offered(("b1", at(3, 16)))
    assert "reply_url" not in of_type(plain, "visa.notification.requested.v1")[0].data.variables


def test_reply_by_is_never_before_the_decision_nor_later_than_a_day_before_the_slot() -> None:
    policy = LINKS.replies
    decided = utc(at(1, 10))
    assert policy.reply_by(decided, utc(at(10, 9))) == decided + dt.timedelta(hours=48)
    assert policy.reply_by(decided, utc(at(2, 20))) == utc(at(1, 20))  # 24 h before
    assert policy.reply_by(decided, utc(at(1, 15))) == decided  # too close: at once


def test_review_holds_every_message_until_the_plan_is_approved() -> None:
    held, out = offered(*TWO, config=REVIEW)
    assert of_type(out, "visa.notification.requested.v1") == []
    (plan,) = of_type(out, "visa.plan.completed.v1")
    assert plan.data.held is True
    moved = of_type(out, "visa.appointment.rescheduled.v1")
    assert [m.data.reply_by for m in moved] == [None, None]
    assert {o.held for o in held.replies.offers.values()} == {True}
    refused = run(held, reply("confirmed", held, "b1", "r1"), config=REVIEW)
    assert of_type(refused, "visa.offer.refused.v1")[0].data.reason == "not_offered"
    assert expire(held, dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == []  # no timeout either

    _, plain = offered(*TWO, config=LINKS)  # the same centre out of review
    expected = sorted(n.id for n in of_type(plain, "visa.notification.requested.v1"))
    approval = ops("plan.approved", "a1", time=APPROVED_AT, plan_id=plan.data.plan_id)
    released = run(held, approval, config=REVIEW)
    notes = of_type(released, "visa.notification.requested.v1")
    assert sorted(n.id for n in notes) == expected  # the ids they would have had
    offer = held.replies.offers["b1"]
    assert (offer.held, offer.reply_by) == (False, utc(APPROVED_AT) + dt.timedelta(hours=48))
    assert {n.data.variables["reply_by"] for n in notes} == {"2025-11-27T15:00:00+01:00"}
    assert outcome(held, "a1") == ("accepted", "", plan.data.plan_id)
    (summary,) = held.replies.plans
    assert (summary.held, summary.approved_by) == (False, "ops@capago")
    assert held.replies.held == {}
    again = run(held, ops("plan.approved", "a2", plan_id=plan.data.plan_id), config=REVIEW)
    assert again == []
    assert outcome(held, "a2")[:2] == ("refused", "not_offered")
    assert run(held, reply("confirmed", held, "b1", "r2"), config=REVIEW) == []


def test_a_held_message_replaced_by_a_later_held_decision_is_never_sent() -> None:
    held, out = offered(("b1", at(3, 16)), free=[at(4, 9), at(5, 9)], config=REVIEW)
    first_plan = of_type(out, "visa.plan.completed.v1")[0].data.plan_id
    revised = ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 13).isoformat(),
                                           "end": at(4, 19).isoformat()}, eid="rev")
    second = of_type(run(held, revised, config=REVIEW), "visa.plan.completed.v1")[0].data
    assert run(held, ops("plan.approved", "a1", plan_id=first_plan), config=REVIEW) == []
    notes = run(held, ops("plan.approved", "a2", plan_id=second.plan_id), config=REVIEW)
    (note,) = of_type(notes, "visa.notification.requested.v1")
    assert note.data.supersedes == ()  # the first message never went out
    assert note.data.variables["new_start"] == "2025-12-05T09:00:00+01:00"


def test_a_pin_that_breaks_a_hard_rule_is_refused_with_the_rule() -> None:
    waiting = ev("visa.booking.created.v1", booking("w1", at(3, 13)))
    state, _ = offered(("b1", at(3, 16)), free=[at(4, 9)], extra=(waiting,))
    assert state.waiting == {"w1"}
    far = dt.datetime(2026, 2, 10, 9, 0, tzinfo=at(1, 1).tzinfo)  # 69 days after 3 Dec
    run(state, ev("visa.slots.published.v1", slots([at(26, 9, month=11), far], capacity=1),
                  eid="more"))
    assert state.waiting == {"w1"}  # 26 Nov is too soon, February too far
    out = run(state, ops("booking.pinned", "p1", booking_id="w1",
                         slot_start=at(26, 9, month=11).isoformat()))
    (refused,) = of_type(out, "visa.offer.refused.v1")
    assert (refused.data.offer_id, refused.data.reason) == ("p1", "breaks_rule")
    assert refused.data.detail == "the slot starts less than 1440 minutes from now"
    assert outcome(state, "p1") == ("refused", "breaks_rule", "w1")
    out = run(state, ops("booking.pinned", "p2", booking_id="w1", slot_start=far.isoformat()))
    assert of_type(out, "visa.offer.refused.v1")[0].data.detail == \
        "the slot is more than 60 days after the appointment"
    assert state.waiting == {"w1"}


def test_a_pin_moves_a_displaced_booking_into_a_free_slot_with_an_open_offer() -> None:
    waiting = ev("visa.booking.created.v1", booking("w1", at(3, 13)))
    state, _ = offered(("b1", at(3, 16)), free=[at(4, 9)], extra=(waiting,))
    run(state, ev("visa.booking.created.v1", booking("x", at(6, 9)), eid="x"),
        ev("visa.slots.published.v1", slots([at(6, 9)], capacity=1), eid="six"))
    out = run(state, ops("booking.pinned", "p1", booking_id="w1",
                         slot_start=at(6, 9).isoformat()))
    assert of_type(out, "visa.offer.refused.v1")[0].data.detail == \
        "the slot has 0 place(s) left for 1"
    run(state, ev("visa.slots.published.v1", slots([at(6, 9)], capacity=2), eid="six2"))
    assert state.waiting == set()  # the room placed w1 from the waiting list already
    out = run(state, ops("booking.pinned", "p2", booking_id="w1", slot_start=at(4, 9).isoformat()))
    assert of_type(out, "visa.offer.refused.v1")[0].data.detail == \
        "the slot has 0 place(s) left for 1"
    run(state, ev("visa.slots.published.v1", slots([at(8, 9)], capacity=1), eid="eight"))
    out = run(state, ops("booking.pinned", "p3", booking_id="w1", slot_start=at(8, 9).isoformat()))
    (moved,) = of_type(out, "visa.appointment.rescheduled.v1")
    assert (moved.data.booking_id, moved.data.reason) == ("w1", "ops_override")
    assert state.replies.offers["w1"].state == "open"
    assert len(of_type(out, "visa.notification.requested.v1")) == 1
    assert outcome(state, "p3") == ("accepted", "", "w1")


def test_a_booking_neither_displaced_nor_waiting_cannot_be_pinned() -> None:
    state, _ = offered(("b1", at(3, 16)))
    run(state, ev("visa.booking.created.v1", booking("calm", at(6, 9)), eid="calm"))
    out = run(state, ops("booking.pinned", "p1", booking_id="calm",
                         slot_start=at(4, 10).isoformat()))
    assert of_type(out, "visa.offer.refused.v1")[0].data.reason == "not_offered"


def test_a_call_logged_is_kept_and_an_unknown_booking_refused() -> None:
    state, _ = offered(("b1", at(3, 16)))
    assert run(state, ops("call.logged", "c1", booking_id="b1", outcome="resolved",
                          note="will come")) == []
    (call,) = state.replies.calls
    assert (call.booking_id, call.event_id, call.by, call.outcome, call.note) == (
        "b1", "c1", "ops@capago", "resolved", "will come")
    assert outcome(state, "c1") == ("accepted", "", "b1")
    run(state, ops("call.logged", "c2", booking_id="ghost", outcome="reached"))
    assert outcome(state, "c2") == ("refused", "not_offered", "ghost")
    assert len(state.replies.calls) == 1


def test_an_offer_with_no_answer_by_reply_by_is_confirmed_once_by_the_scheduler() -> None:
    state, _ = offered(("b1", at(3, 16)))
    offer = state.replies.offers["b1"]
    assert offer.reply_by is not None
    assert expire(state, offer.reply_by - dt.timedelta(seconds=1)) == []
    (timeout,) = expire(state, offer.reply_by)
    assert timeout.type == "visa.offer.confirmed.v1"
    assert (timeout.data.offer_id, timeout.data.channel) == (offer.offer_id, "timeout")
    assert expire(state, offer.reply_by + dt.timedelta(days=1)) == []  # marked: once
    assert offer.timeout_at == offer.reply_by
    assert run(state, timeout) == []
    assert (offer.state, offer.channel) == ("confirmed", "timeout")
    assert outcome(state, timeout.id)[0] == "accepted"


def test_an_answered_offer_never_times_out() -> None:
    state, _ = offered(("b1", at(3, 16)))
    run(state, reply("declined", state, "b1", "r1", wants="call_me"))
    assert expire(state, dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == []
