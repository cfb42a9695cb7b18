"""A centre's whole step: fold, displacement, plan, output events (pure, no I/O)."""

import datetime as dt

from services.scheduler.domain.state import CentreState
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots
from tests.unit.living import by_type, run


def calendar() -> CentreState:
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(3, h) for h in (9, 10, 16)] + [at(4, 9)],
                                             capacity=1)),
        ev("visa.booking.created.v1", booking("b1", at(3, 16))))
    return state


def test_displaced_booking_is_moved_notified_and_planned() -> None:
    state = calendar()
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19),
                                                          notice_min=0)))
    moved = by_type(out, "visa.appointment.rescheduled.v1")
    assert [(m.data.booking_id, m.data.to_start) for m in moved] == [("b1", at(3, 10))]
    assert moved[0].data.reason == "same_day"
    note = by_type(out, "visa.notification.requested.v1")[0].data
    assert note.variables["old_start"] == "2025-12-03T16:00:00+01:00"
    assert note.variables["new_start"] == "2025-12-03T10:00:00+01:00"
    assert note.variables["centre_name"] == "Capago Alger"
    completed = by_type(out, "visa.plan.completed.v1")[0].data
    assert (completed.displaced, completed.moved, completed.unplaced) == (1, 1, 0)
    assert completed.cost == 360
    assert completed.status == "optimal"


def test_same_input_gives_the_same_ids() -> None:
    declared = ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19), notice_min=0))
    first = [e.id for e in run(calendar(), declared)]
    second = [e.id for e in run(calendar(), declared)]
    assert first == second
    assert len(set(first)) == len(first)


def test_notice_pushes_the_move_to_the_next_day() -> None:
    state = calendar()
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19),
                                                          notice_min=24 * 60),
                        time=at(2, 12)))
    moved = by_type(out, "visa.appointment.rescheduled.v1")
    assert moved[0].data.to_start == at(4, 9)


def test_no_capacity_leaves_unplaced_with_advice() -> None:
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(3, 16), at(4, 9)], capacity=1)),
        ev("visa.booking.created.v1", booking("b1", at(3, 16))),
        ev("visa.booking.created.v1", booking("full", at(4, 9))))
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    unplaced = by_type(out, "visa.appointment.unplaced.v1")
    assert [u.data.reason for u in unplaced] == ["no_capacity_in_horizon"]
    advice = by_type(out, "visa.capacity.advice.v1")[0].data
    # v1.1: the earliest whole day a day's notice after the announcement (25 Nov 10:00)
    # on which the centre opens (it published Wednesdays and Thursdays): Thu 27 Nov
    assert [(x.date, x.places) for x in advice.extra] == [(dt.date(2025, 11, 27), 1)]
    note = by_type(out, "visa.notification.requested.v1")[0].data
    assert note.template == "appointment_unplaced"
    assert "new_start" not in note.variables


def test_unplaced_booking_is_not_decided_twice() -> None:
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.booking.created.v1", booking("b1", at(3, 16))),
        ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    again = run(state, ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 14),
                                                     "end": at(3, 19)}, subject=CENTRE))
    assert by_type(again, "visa.appointment.unplaced.v1") == []


def test_revision_covering_the_new_slot_moves_again_and_the_lift_restores() -> None:
    state = calendar()
    run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19), notice_min=0)))
    assert state.bookings["b1"].slot_start == at(3, 10).astimezone(dt.UTC)
    out = run(state, ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 10),
                                                   "end": at(3, 19)}, subject=CENTRE))
    moved = by_type(out, "visa.appointment.rescheduled.v1")
    assert [(m.data.from_start, m.data.to_start) for m in moved] == [(at(3, 10), at(3, 9))]
    # v1.1 replaces "nobody is moved back": the lift gives b1 its original 16:00 again
    lifted = run(state, ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject=CENTRE))
    back = by_type(lifted, "visa.appointment.rescheduled.v1")
    assert [(m.data.from_start, m.data.to_start, m.data.reason) for m in back] == [
        (at(3, 9), at(3, 16), "restored")]
    note = by_type(lifted, "visa.notification.requested.v1")[0].data
    assert note.template == "appointment_restored"
    assert (note.variables["old_start"], note.variables["new_start"]) == (
        at(3, 9).isoformat(), at(3, 16).isoformat())
    completed = by_type(lifted, "visa.plan.completed.v1")[0].data
    assert (completed.trigger, completed.moved) == ("lift", 1)


def test_revision_that_uncovers_the_original_slot_restores_instead_of_moving() -> None:
    state = calendar()
    run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19), notice_min=0)))
    out = run(state, ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 10),
                                                   "end": at(3, 12)}, subject=CENTRE))
    moved = by_type(out, "visa.appointment.rescheduled.v1")
    assert [(m.data.to_start, m.data.reason) for m in moved] == [(at(3, 16), "restored")]
    assert by_type(out, "visa.plan.completed.v1")[0].data.trigger == "revision"


def test_overbooked_slot_is_reported_once() -> None:
    state = CentreState(CENTRE)
    out = run(state, ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1)),
              ev("visa.booking.created.v1", booking("b1", at(3, 9))),
              ev("visa.booking.created.v1", booking("b2", at(3, 9))),
              ev("visa.booking.created.v1", booking("b2", at(3, 9))))
    conflicts = by_type(out, "visa.capacity.conflict.v1")
    assert [(c.data.capacity, c.data.booked) for c in conflicts] == [(1, 2)]


def test_a_batch_of_bookings_into_a_full_slot_is_one_conflict_per_change_of_count() -> None:
    state = CentreState(CENTRE)
    run(state, ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1)))
    out = run(state, *(ev("visa.booking.created.v1", booking(f"b{i}", at(3, 9)))
                       for i in range(4)))
    conflicts = by_type(out, "visa.capacity.conflict.v1")
    assert [(c.data.capacity, c.data.booked) for c in conflicts] == [(1, 4)]
    assert by_type(run(state, ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1),
                                 eid="again")), "visa.capacity.conflict.v1") == []
    more = run(state, ev("visa.booking.created.v1", booking("b9", at(3, 9))))
    assert [(c.data.capacity, c.data.booked)
            for c in by_type(more, "visa.capacity.conflict.v1")] == [(1, 5)]


def test_family_is_moved_together() -> None:
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(3, 9), at(3, 10), at(3, 11)], capacity=1)),
        ev("visa.slots.published.v1", slots([at(4, 9)], capacity=2), eid="day2"),
        ev("visa.booking.created.v1", booking("a", at(3, 16), group_id="f")),
        ev("visa.booking.created.v1", booking("b", at(3, 16), group_id="f")))
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19),
                                                          notice_min=0)))
    starts = sorted(m.data.to_start for m in by_type(out, "visa.appointment.rescheduled.v1"))
    assert len(starts) == 2
    assert starts[1] - starts[0] <= dt.timedelta(minutes=30)
    assert starts[0].date() == starts[1].date()
