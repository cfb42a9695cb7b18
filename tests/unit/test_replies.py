"""Applicants' replies folded by the scheduler (CONTRACT v1.1): one rule each, feasible and
infeasible, on a centre whose outage made offers."""

import datetime as dt

from services.scheduler.domain.offers import ReplyPolicy, folded_cut, forget_folded
from services.scheduler.domain.process import FORGET_EVERY
from tests.builders import CENTRE, at, booking, ev, outage
from tests.unit.replying import REPLY_TIME, of_type, offer_of, offered, outcome, reply, run

ONE = (("b1", at(3, 16)),)
TWO = (("b1", at(3, 16)), ("b2", at(3, 17)))


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)


def test_every_move_is_an_offer_with_its_id_and_reply_by() -> None:
    state, out = offered(*ONE)
    (moved,) = of_type(out, "visa.appointment.rescheduled.v1")
    offer = state.replies.offers["b1"]
    assert moved.data.offer_id == moved.id == offer.offer_id
    # the earlier of 48 h after the decision (25 Nov 10:00) and 24 h before the new slot
    assert moved.data.reply_by == offer.reply_by == utc(at(27, 10, month=11))
    assert (offer.state, offer.held, offer.phone) == ("open", False, "+213555000111")
    assert offer.from_start == utc(at(3, 16))


def test_a_confirmation_closes_the_open_offer() -> None:
    state, _ = offered(*ONE)
    out = run(state, reply("confirmed", state, "b1", "r1"))
    assert out == []
    offer = state.replies.offers["b1"]
    assert (offer.state, offer.channel, offer.answer_id) == ("confirmed", "web", "r1")
    assert offer.answered_at == utc(REPLY_TIME)
    assert outcome(state, "r1") == ("accepted", "", offer.offer_id)


def test_a_second_reply_is_refused_and_the_same_reply_again_changes_nothing() -> None:
    state, _ = offered(*ONE)
    offer_id = offer_of(state, "b1")
    run(state, reply("confirmed", state, "b1", "r1"))
    again = run(state, reply("confirmed", state, "b1", "r1"))  # a double click: same id
    assert again == []
    assert outcome(state, "r1") == ("accepted", "", offer_id)
    late = run(state, reply("declined", state, "b1", "r2", wants="cancel"))
    (refused,) = of_type(late, "visa.offer.refused.v1")
    assert (refused.data.offer_id, refused.data.reason) == (offer_id, "already_answered")
    assert outcome(state, "r2") == ("refused", "already_answered", offer_id)
    assert state.bookings["b1"].active  # not cancelled
    assert state.replies.offers["b1"].state == "confirmed"


def test_a_change_moves_the_booking_into_the_chosen_free_slot() -> None:
    state, _ = offered(*ONE, free=[at(4, 9), at(5, 11)])
    old = offer_of(state, "b1")
    out = run(state, reply("changed", state, "b1", "r1", slot_start=at(5, 11).isoformat()))
    (moved,) = of_type(out, "visa.appointment.rescheduled.v1")
    assert (moved.data.to_start, moved.data.reason) == (at(5, 11), "applicant_choice")
    assert moved.data.from_start == at(4, 9)
    (note,) = of_type(out, "visa.notification.requested.v1")
    assert note.data.variables["new_start"] == "2025-12-05T11:00:00+01:00"
    offer = state.replies.offers["b1"]
    assert (offer.offer_id, offer.state, offer.channel, offer.answers) == (
        moved.id, "confirmed", "web", old)
    assert state.bookings["b1"].slot_start == utc(at(5, 11))
    assert state.occupancy[("short_stay", utc(at(4, 9)))] == 0
    assert state.decisions["b1"].original == utc(at(3, 16))  # a restore still goes home
    assert outcome(state, "r1") == ("accepted", "", old)
    # a second reply to the offer the applicant changed: already answered, not superseded
    late = run(state, reply("confirmed", state, "b1", "r2", offer_id=old))
    assert of_type(late, "visa.offer.refused.v1")[0].data.reason == "already_answered"


def test_a_change_into_a_taken_slot_is_refused_and_the_offer_stands() -> None:
    state, _ = offered(*TWO)
    b1_slot = state.bookings["b1"].slot_start
    assert b1_slot is not None
    b2_slot = state.bookings["b2"].slot_start
    out = run(state, reply("changed", state, "b2", "r1", slot_start=b1_slot.isoformat()))
    (refused,) = of_type(out, "visa.offer.refused.v1")
    assert refused.data.reason == "slot_taken"
    assert refused.data.detail == "the slot has 0 place(s) left for 1"
    assert of_type(out, "visa.appointment.rescheduled.v1") == []
    assert state.bookings["b2"].slot_start == b2_slot
    assert state.replies.offers["b2"].state == "open"
    assert outcome(state, "r1")[:2] == ("refused", "slot_taken")


def test_a_change_too_soon_or_to_no_slot_is_refused_with_the_rule() -> None:
    state, _ = offered(*ONE, free=[at(4, 9), at(26, 9, month=11)])
    soon = run(state, reply("changed", state, "b1", "r1",
                            slot_start=at(26, 9, month=11).isoformat()))
    assert of_type(soon, "visa.offer.refused.v1")[0].data.detail == \
        "the slot starts less than 1440 minutes from now"
    nowhere = run(state, reply("changed", state, "b1", "r2", slot_start=at(8, 9).isoformat()))
    assert of_type(nowhere, "visa.offer.refused.v1")[0].data.detail == \
        "no such slot is open for this service"


def test_two_applicants_racing_for_the_last_place_one_wins() -> None:
    state, _ = offered(*TWO, free=[at(4, 9), at(4, 10), at(5, 9)])
    b2_offer = offer_of(state, "b2")
    out = run(state, reply("changed", state, "b1", "r1", slot_start=at(5, 9).isoformat()),
              reply("changed", state, "b2", "r2", slot_start=at(5, 9).isoformat()))
    assert [m.data.booking_id for m in of_type(out, "visa.appointment.rescheduled.v1")] == ["b1"]
    (refused,) = of_type(out, "visa.offer.refused.v1")
    assert (refused.data.booking_id, refused.data.reason) == ("b2", "slot_taken")
    assert outcome(state, "r1")[0] == "accepted"
    assert outcome(state, "r2")[:2] == ("refused", "slot_taken")
    assert state.replies.offers["b2"].offer_id == b2_offer  # the previous offer stands
    assert state.replies.offers["b2"].state == "open"
    assert state.bookings["b1"].slot_start == utc(at(5, 9))


def test_a_reply_to_an_offer_a_later_decision_replaced_is_superseded() -> None:
    state, _ = offered(*ONE, free=[at(4, 9), at(5, 9)])
    first = offer_of(state, "b1")
    revised = ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 13).isoformat(),
                                           "end": at(4, 19).isoformat()}, eid="rev")
    moved = of_type(run(state, revised), "visa.appointment.rescheduled.v1")
    assert [m.data.reason for m in moved] == ["moved_again"]
    assert offer_of(state, "b1") == moved[0].id != first
    out = run(state, reply("confirmed", state, "b1", "r1", offer_id=first))
    assert of_type(out, "visa.offer.refused.v1")[0].data.reason == "superseded"
    assert state.replies.offers["b1"].state == "open"
    unknown = run(state, reply("confirmed", state, "b1", "r2", offer_id="nope"))
    assert of_type(unknown, "visa.offer.refused.v1")[0].data.reason == "superseded"
    stranger = reply("confirmed", state, "b1", "r3", offer_id="nope")
    stranger = stranger.model_copy(update={"data": stranger.data.model_copy(
        update={"booking_id": "nobody"})})
    assert of_type(run(state, stranger), "visa.offer.refused.v1")[0].data.reason == \
        "not_offered"


def test_an_offer_moved_or_cancelled_upstream_no_longer_stands() -> None:
    state, _ = offered(*TWO)
    run(state, ev("visa.booking.cancelled.v1", {"booking_id": "b1", "centre_id": CENTRE}),
        ev("visa.booking.moved.v1", {"booking_id": "b2", "centre_id": CENTRE,
                                     "slot_start": at(6, 9).isoformat()}))
    assert state.replies.offers == {}
    assert sorted(state.replies.dirty_offers) == ["b1", "b2"]  # deleted from the store


def test_decline_and_cancel_frees_the_place_for_the_waiting() -> None:
    waiting = ev("visa.booking.created.v1", booking("w1", at(3, 13)))
    state, out = offered(*ONE, free=[at(4, 9)], extra=(waiting,))
    assert of_type(out, "visa.appointment.unplaced.v1")[0].data.booking_id == "w1"
    out = run(state, reply("declined", state, "b1", "r1", wants="cancel"))
    (cancelled,) = of_type(out, "visa.appointment.cancelled.v1")
    assert (cancelled.data.booking_id, cancelled.data.reason) == ("b1", "applicant_declined")
    assert state.bookings["b1"].status == "cancelled"
    assert state.replies.offers["b1"].wants == "cancel"
    (placed,) = of_type(out, "visa.appointment.rescheduled.v1")
    assert (placed.data.booking_id, placed.data.to_start, placed.data.reason) == (
        "w1", at(4, 9), "from_waiting_list")
    assert of_type(out, "visa.plan.completed.v1")[0].data.trigger == "reply"
    assert state.waiting == set()


def test_decline_and_call_me_keeps_the_booking_for_the_call_list() -> None:
    state, _ = offered(*ONE)
    out = run(state, reply("declined", state, "b1", "r1", wants="call_me"))
    assert out == []
    offer = state.replies.offers["b1"]
    assert (offer.state, offer.wants) == ("declined", "call_me")
    assert state.bookings["b1"].active
    assert outcome(state, "r1")[0] == "accepted"


def test_a_change_moves_the_whole_family_or_nobody() -> None:
    family = (ev("visa.booking.created.v1", booking("f1", at(3, 16), group_id="g")),
              ev("visa.booking.created.v1", booking("f2", at(3, 16), group_id="g")))
    state, _ = offered(free=[at(4, 9), at(5, 9), at(6, 9)], capacity=2, extra=family)
    assert {state.bookings[b].slot_start for b in ("f1", "f2")} == {utc(at(4, 9))}
    run(state, ev("visa.booking.created.v1", booking("x", at(6, 9)), eid="x"))  # one left
    full = run(state, reply("changed", state, "f1", "r1", slot_start=at(6, 9).isoformat()))
    assert of_type(full, "visa.offer.refused.v1")[0].data.detail == \
        "the slot has 1 place(s) left for 2"
    out = run(state, reply("changed", state, "f1", "r2", slot_start=at(5, 9).isoformat()))
    moved = of_type(out, "visa.appointment.rescheduled.v1")
    assert sorted(m.data.booking_id for m in moved) == ["f1", "f2"]
    assert {state.replies.offers[b].state for b in ("f1", "f2")} == {"confirmed"}
    assert len({m.data.plan_id for m in moved}) == 1


def test_a_timeout_answer_after_a_real_one_is_refused_silently() -> None:
    state, _ = offered(*ONE)
    run(state, reply("confirmed", state, "b1", "r1"))
    out = run(state, reply("confirmed", state, "b1", "t1", channel="timeout"))
    assert out == []
    assert outcome(state, "t1")[:2] == ("refused", "already_answered")


def test_a_booking_left_unplaced_later_has_no_offer_to_answer() -> None:
    state, _ = offered(*ONE, free=[at(4, 9)])
    first = offer_of(state, "b1")
    out = run(state, ev("visa.outage.declared.v1", outage("o2", at(4, 8), at(4, 12)), eid="o2"))
    assert of_type(out, "visa.appointment.unplaced.v1")[0].data.booking_id == "b1"
    assert "b1" not in state.replies.offers
    refused = run(state, reply("confirmed", state, "b1", "r1", offer_id=first))
    assert of_type(refused, "visa.offer.refused.v1")[0].data.reason == "superseded"


def test_folded_ids_older_than_the_window_are_forgotten_the_others_kept() -> None:
    folded = {"old": REPLY_TIME, "edge": REPLY_TIME + dt.timedelta(days=1),
              "new": REPLY_TIME + dt.timedelta(days=40)}
    forget_folded(folded, REPLY_TIME + dt.timedelta(days=1))
    assert folded == {"edge": REPLY_TIME + dt.timedelta(days=1),
                      "new": REPLY_TIME + dt.timedelta(days=40)}


def test_the_cut_is_timed_by_the_oldest_of_the_latest_folds() -> None:
    days = dt.timedelta(days=30)
    folded = {"a": REPLY_TIME, "b": REPLY_TIME + days * 3, "c": REPLY_TIME + days * 2}
    assert folded_cut(folded, 2, 30) == REPLY_TIME + days  # min of c and b, less 30 days
    assert folded_cut(folded, 3, 30) == REPLY_TIME - days
    assert folded_cut({}, 2, 30) is None


def test_one_reply_stamped_far_in_the_future_does_not_empty_the_fold() -> None:
    """Its time alone would put the cut years ahead, and a copy of a reply folded a minute
    ago would have been folded once more."""
    state, _ = offered(*ONE)
    for n in range(FORGET_EVERY - 1):
        run(state, reply("confirmed", state, "b1", f"r{n}"))
    stray = REPLY_TIME.replace(year=REPLY_TIME.year + 50)
    run(state, reply("confirmed", state, "b1", "r-stray", time=stray))
    assert len(state.replies.folded) == FORGET_EVERY  # the pruning ran, and kept them all
    assert run(state, reply("confirmed", state, "b1", "r5")) == []  # still a copy


def test_the_fold_keeps_reply_ids_for_the_dedupe_window_only() -> None:
    """Not every id ever folded: those of events older than dedupe_days go, now and then."""
    state, _ = offered(*ONE)
    run(state, reply("confirmed", state, "b1", "r-first"))
    later = REPLY_TIME + dt.timedelta(days=ReplyPolicy().dedupe_days + 1)
    for n in range(FORGET_EVERY - 1):
        run(state, reply("confirmed", state, "b1", f"r{n}", time=later))
    assert "r-first" not in state.replies.folded
    assert len(state.replies.folded) == FORGET_EVERY - 1
    assert run(state, reply("confirmed", state, "b1", "r7", time=later)) == []  # still a copy



def test_an_outcome_is_kept_with_its_booking_and_a_stranger_names_none() -> None:
    state, _ = offered(*ONE)
    run(state, reply("confirmed", state, "b1", "r1"),
        reply("confirmed", state, "nobody-here", "r2", offer_id=offer_of(state, "b1")))
    kept = {o.event_id: o.booking_id for o in state.replies.outcomes}
    assert kept == {"r1": "b1", "r2": None}  # a reply naming no booking of ours names none
