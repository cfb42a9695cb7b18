"""Restore (CONTRACT v1.1): back to the original slot when it stands again, has room and
is at least restore_notice_min away; waiting bookings first; a family whole or not at all."""

import datetime as dt
from typing import Any

from services.scheduler.domain.state import CentreState
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots
from tests.unit.living import by_type, moves, published, run, utc, waiting_calendar

LIFTED = ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject=CENTRE)


def lifted_at(time: dt.datetime) -> Any:
    return ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject=CENTRE, time=time)


def moved_calendar(capacity: int = 1, *bookings: Any) -> CentreState:
    """b1 (3 Dec 16:00) moved to 4 Dec 09:00 by the outage of 3 Dec 15:00-19:00."""
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(3, 16)], capacity=capacity)),
        ev("visa.slots.published.v1", slots([at(4, 9)], capacity=4), eid="free"),
        *(bookings or (ev("visa.booking.created.v1", booking("b1", at(3, 16))),)))
    run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    return state


def test_a_lift_gives_a_moved_booking_its_original_slot() -> None:
    state = moved_calendar()
    assert state.bookings["b1"].slot_start == utc(at(4, 9))
    out = run(state, LIFTED)
    assert moves(out) == [("b1", at(3, 16), "restored")]
    note = by_type(out, "visa.notification.requested")[0].data
    assert note.template == "appointment_restored"
    assert note.variables["new_start"] == at(3, 16).isoformat()
    assert note.variables["old_start"] == at(4, 9).isoformat()
    assert state.tally.restored == 1


def test_a_waiting_booking_is_restored_where_it_is() -> None:
    state = waiting_calendar()
    out = run(state, LIFTED)
    assert moves(out) == [("b1", at(3, 16), "restored")]
    note = by_type(out, "visa.notification.requested")[0].data
    assert note.variables["old_start"] == note.variables["new_start"] == at(3, 16).isoformat()
    assert state.waiting == set()
    assert [a.data.extra for a in by_type(out, "visa.capacity.advice")] == [()]


def test_no_restore_without_room() -> None:
    state = moved_calendar()
    run(state, published([at(3, 16)], capacity=0, eid="cut"))  # the slot is withdrawn
    out = run(state, LIFTED)
    assert moves(out) == []
    assert state.bookings["b1"].slot_start == utc(at(4, 9))


def test_no_restore_without_notice() -> None:
    state = moved_calendar()
    out = run(state, lifted_at(at(2, 9)))  # 31 hours before 3 Dec 16:00: under 48 h
    assert moves(out) == []
    enough = moved_calendar()
    assert moves(run(enough, lifted_at(at(1, 16)))) == [("b1", at(3, 16), "restored")]


def test_waiting_bookings_are_restored_first() -> None:
    both = (ev("visa.booking.created.v1", booking("a", at(3, 16))),
            ev("visa.booking.created.v1", booking("b", at(3, 16))))
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(3, 16)], capacity=2)),
        ev("visa.slots.published.v1", slots([at(4, 9)], capacity=1), eid="one"), *both)
    run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    (waiting,) = state.waiting
    (moved,) = {"a", "b"} - state.waiting
    run(state, published([at(3, 16)], capacity=1, eid="fewer"))  # room for one only
    assert moves(run(state, LIFTED)) == [(waiting, at(3, 16), "restored")]
    assert state.bookings[moved].slot_start == utc(at(4, 9))


def test_a_family_goes_back_whole_or_not_at_all() -> None:
    family = (ev("visa.booking.created.v1", booking("f1", at(3, 16), group_id="f")),
              ev("visa.booking.created.v1", booking("f2", at(3, 16), group_id="f")))
    state = moved_calendar(2, *family)
    assert {state.bookings[b].slot_start for b in ("f1", "f2")} == {utc(at(4, 9))}
    run(state, published([at(3, 16)], capacity=1, eid="fewer"))
    assert moves(run(state, LIFTED)) == []
    whole = moved_calendar(2, *family)
    assert sorted(moves(run(whole, LIFTED))) == [("f1", at(3, 16), "restored"),
                                                  ("f2", at(3, 16), "restored")]


def test_a_booking_moved_twice_goes_back_to_its_first_slot() -> None:
    state = moved_calendar()
    run(state, published([at(5, 9)], eid="fri"),
        ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 15),
                                      "end": at(4, 12)}, subject=CENTRE))
    assert state.bookings["b1"].slot_start == utc(at(5, 9))
    assert state.decisions["b1"].original == utc(at(3, 16))
    assert moves(run(state, LIFTED)) == [("b1", at(3, 16), "restored")]


def test_restored_places_left_free_seat_the_waiting() -> None:
    state = moved_calendar()
    run(state, published([at(4, 9)], capacity=1, eid="one"),
        ev("visa.booking.created.v1", booking("w", at(3, 17))))
    assert state.waiting == {"w"}
    run(state, published([at(3, 17)], capacity=0, eid="gone"))  # w cannot go back
    out = run(state, LIFTED)
    assert sorted(moves(out)) == [("b1", at(3, 16), "restored"),
                                  ("w", at(4, 9), "from_waiting_list")]
    completed = by_type(out, "visa.plan.completed")
    assert [(c.data.trigger, c.data.moved) for c in completed] == [("lift", 2)]
