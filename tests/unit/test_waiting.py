"""The waiting list (CONTRACT v1.1): re-planned when room appears, once per batch."""

import datetime as dt

from tests.builders import CENTRE, TZ, at, booking, ev
from tests.unit.living import (
    by_type,
    moves,
    published,
    run,
    utc,
    waiting_calendar,
)


def test_slots_published_place_the_waiting_booking() -> None:
    state = waiting_calendar()
    first_note = state.decisions["b1"].notification_id
    out = run(state, published([at(5, 9)]))
    assert moves(out) == [("b1", at(5, 9), "from_waiting_list")]
    completed = by_type(out, "visa.plan.completed")[0].data
    assert (completed.trigger, completed.displaced, completed.moved, completed.unplaced) == (
        "capacity", 1, 1, 0)
    note = by_type(out, "visa.notification.requested")[0].data
    assert note.template == "appointment_rescheduled"
    assert note.supersedes == (first_note,)  # the "an adviser will call you" message
    assert state.waiting == set()
    assert state.tally.placed_from_waiting == 1
    assert [a.data.extra for a in by_type(out, "visa.capacity.advice")] == [()]  # nobody waits


def test_room_for_another_service_or_too_soon_places_nobody() -> None:
    state = waiting_calendar()
    other = run(state, published([at(5, 9)], service="long_stay"))
    assert moves(other) == []
    assert by_type(other, "visa.plan.completed") == []
    # 26 Nov 09:00 is less than a day's notice after the outage (25 Nov 10:00)
    soon = run(state, published([dt.datetime(2025, 11, 26, 9, 0, tzinfo=TZ)], eid="soon"))
    assert moves(soon) == []
    assert by_type(soon, "visa.plan.completed") == []  # nothing decided: no plan
    assert by_type(soon, "visa.capacity.advice") == []  # the waiting list did not change
    assert state.waiting == {"b1"}


def test_a_cancellation_frees_a_place_for_the_waiting() -> None:
    state = waiting_calendar()
    out = run(state, ev("visa.booking.cancelled.v1", {"booking_id": "full", "centre_id": CENTRE}))
    assert moves(out) == [("b1", at(4, 9), "from_waiting_list")]


def test_waiting_horizon_is_sixty_days_after_the_slot() -> None:
    state = waiting_calendar()
    far = dt.datetime(2026, 2, 3, 9, 0, tzinfo=TZ)  # 62 days after 3 Dec
    assert moves(run(state, published([far], eid="far"))) == []
    within = dt.datetime(2026, 1, 17, 9, 0, tzinfo=TZ)  # 45 days: past v1's 30, within 60
    assert moves(run(state, published([within], eid="within"))) == [
        ("b1", within, "from_waiting_list")]


def test_many_room_events_in_one_batch_re_plan_once() -> None:
    state = waiting_calendar()
    out = run(state, published([at(5, 9)], eid="a"), published([at(5, 10)], eid="b"),
              ev("visa.booking.cancelled.v1", {"booking_id": "full", "centre_id": CENTRE}))
    assert len(by_type(out, "visa.plan.completed")) == 1
    assert moves(out) == [("b1", at(4, 9), "from_waiting_list")]  # the nearest of the three


def test_placed_bookings_keep_their_slot() -> None:
    state = waiting_calendar()
    run(state, published([at(4, 10)]))
    assert state.bookings["full"].slot_start == utc(at(4, 9))
    assert state.bookings["b1"].slot_start == utc(at(4, 10))


def test_a_waiting_family_is_placed_together_or_not_at_all() -> None:
    family = (ev("visa.booking.created.v1", booking("f1", at(3, 17), group_id="f")),
              ev("visa.booking.created.v1", booking("f2", at(3, 17), group_id="f")))
    state = waiting_calendar(*family)
    assert state.waiting == {"b1", "f1", "f2"}
    one_place = run(state, published([at(5, 9)]))
    assert [m[0] for m in moves(one_place)] == ["b1"]
    assert moves(run(state, published([at(6, 9)], eid="one"))) == []  # one place, two members
    two = moves(run(state, published([at(7, 9)], capacity=2, eid="two")))
    assert sorted(m[0] for m in two) == ["f1", "f2"]


def test_the_same_batch_gives_the_same_events() -> None:
    batch = [published([at(5, 9)], eid="p")]

    def outputs() -> list[tuple[str, object]]:  # all but the wall time spent solving
        return [(e.id, e.data.model_copy(update={"solve_ms": 0})
                 if hasattr(e.data, "solve_ms") else e.data)
                for e in run(waiting_calendar(), *batch)]

    first, again = outputs(), outputs()
    assert first == again
    assert len({i for i, _ in first}) == len(first)
