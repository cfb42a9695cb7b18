"""The projection: one test per event type, and the out-of-order cases of the contract."""

import datetime as dt

from services.scheduler.domain.displacement import conflicts, displaced
from services.scheduler.domain.fold import apply
from services.scheduler.domain.routing import Route, route
from services.scheduler.domain.state import CentreState
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots


def fold(*events) -> CentreState:  # type: ignore[no-untyped-def]
    state = CentreState(CENTRE)
    for e in events:
        apply(state, e)
    return state


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)


def test_centre_registered_sets_info() -> None:
    state = fold(ev("visa.centre.registered.v1", centre()))
    assert state.info is not None
    assert state.info.timezone == "Africa/Algiers"


def test_slots_published_then_republished_replaces_capacity() -> None:
    state = fold(ev("visa.slots.published.v1", slots([at(3, 9)], capacity=4)),
                 ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1), eid="again"))
    assert state.slots[("short_stay", utc(at(3, 9)))].capacity == 1


def test_withdrawn_slot_has_no_capacity_and_reports_conflict() -> None:
    state = fold(ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1)),
                 ev("visa.booking.created.v1", booking("b1", at(3, 9))),
                 ev("visa.slots.withdrawn.v1", {"centre_id": CENTRE, "service": "short_stay",
                                                "starts": [at(3, 9)]}))
    key = ("short_stay", utc(at(3, 9)))
    assert state.slots[key].capacity == 0
    assert conflicts(state, {key}) == [(key, 0, 1)]
    assert conflicts(state, {key}) == []  # reported once


def test_booking_created_counts_in_its_slot() -> None:
    state = fold(ev("visa.booking.created.v1", booking("b1", at(3, 9))))
    assert state.bookings["b1"].active
    assert state.occupancy[("short_stay", utc(at(3, 9)))] == 1


def test_duplicate_booking_created_is_ignored() -> None:
    created = ev("visa.booking.created.v1", booking("b1", at(3, 9)))
    state = fold(created, created)
    assert state.occupancy[("short_stay", utc(at(3, 9)))] == 1


def test_booking_cancelled_frees_its_place() -> None:
    state = fold(ev("visa.booking.created.v1", booking("b1", at(3, 9))),
                 ev("visa.booking.cancelled.v1", {"booking_id": "b1", "centre_id": CENTRE}))
    assert not state.bookings["b1"].active
    assert state.occupancy[("short_stay", utc(at(3, 9)))] == 0


def test_cancellation_before_creation_keeps_booking_cancelled() -> None:
    state = fold(ev("visa.booking.cancelled.v1", {"booking_id": "b1", "centre_id": CENTRE}),
                 ev("visa.booking.created.v1", booking("b1", at(3, 9))))
    assert state.bookings["b1"].status == "cancelled"
    assert state.occupancy.get(("short_stay", utc(at(3, 9))), 0) == 0


def test_booking_moved_changes_slot() -> None:
    state = fold(ev("visa.booking.created.v1", booking("b1", at(3, 9))),
                 ev("visa.booking.moved.v1", {"booking_id": "b1", "centre_id": CENTRE,
                                              "slot_start": at(4, 10)}))
    assert state.bookings["b1"].slot_start == utc(at(4, 10))
    assert state.occupancy[("short_stay", utc(at(3, 9)))] == 0


def test_move_before_creation_is_applied_on_creation() -> None:
    state = fold(ev("visa.booking.moved.v1", {"booking_id": "b1", "centre_id": CENTRE,
                                              "slot_start": at(4, 10)}),
                 ev("visa.booking.created.v1", booking("b1", at(3, 9))))
    assert state.bookings["b1"].active
    assert state.bookings["b1"].slot_start == utc(at(4, 10))


def test_booking_before_its_slots_is_kept_without_conflict() -> None:
    state = fold(ev("visa.booking.created.v1", booking("b1", at(3, 9))))
    assert conflicts(state, {("short_stay", utc(at(3, 9)))}) == []


def test_outage_displaces_overlapping_bookings_only() -> None:
    state = fold(ev("visa.centre.registered.v1", centre()),
                 ev("visa.booking.created.v1", booking("in", at(3, 16))),
                 ev("visa.booking.created.v1", booking("before", at(3, 15))),  # ends 15:30
                 ev("visa.booking.created.v1", booking("other", at(3, 16), service="long_stay")))
    touched = apply(state, ev("visa.outage.declared.v1",
                              outage("o1", at(3, 15, 30), at(3, 19, 30),
                                     services=["short_stay"])))
    assert displaced(state, touched, 15) == {"o1": ["in"]}


def test_booking_created_inside_active_outage_is_displaced() -> None:
    state = fold(ev("visa.centre.registered.v1", centre()),
                 ev("visa.outage.declared.v1", outage("o1", at(3, 15, 30), at(3, 19, 30))))
    touched = apply(state, ev("visa.booking.created.v1", booking("late", at(3, 17))))
    assert displaced(state, touched, 15) == {"o1": ["late"]}


def test_decisions_wait_for_the_centre_registration() -> None:
    state = fold(ev("visa.booking.created.v1", booking("b1", at(3, 16))))
    touched = apply(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    assert displaced(state, touched, 15) == {}
    touched = apply(state, ev("visa.centre.registered.v1", centre()))
    assert displaced(state, touched, 15) == {"o1": ["b1"]}


def test_revision_widens_the_window() -> None:
    state = fold(ev("visa.centre.registered.v1", centre()),
                 ev("visa.booking.created.v1", booking("b1", at(3, 20))),
                 ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    touched = apply(state, ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 15),
                                                         "end": at(3, 21)}, subject=CENTRE))
    assert displaced(state, touched, 15) == {"o1": ["b1"]}


def test_revision_not_naming_the_centre_ends_it_there() -> None:
    state = fold(ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))),
                 ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 15),
                                               "end": at(3, 19), "centre_ids": ["capago-oran"]},
                    subject=CENTRE))
    assert not state.outages["o1"].active


def test_lifted_outage_moves_nobody_and_lift_before_declare_sticks() -> None:
    lifted = ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject=CENTRE)
    state = fold(ev("visa.centre.registered.v1", centre()),
                 ev("visa.booking.created.v1", booking("b1", at(3, 16))), lifted)
    touched = apply(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    assert not state.outages["o1"].active
    assert displaced(state, touched, 15) == {}


def test_family_goes_with_the_outage_of_its_first_member() -> None:
    state = fold(ev("visa.centre.registered.v1", centre()),
                 ev("visa.booking.created.v1", booking("a", at(3, 16), group_id="f")),
                 ev("visa.booking.created.v1", booking("b", at(4, 16), group_id="f")),
                 ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    touched = apply(state, ev("visa.outage.declared.v1", outage("o2", at(4, 15), at(4, 19))))
    assert displaced(state, touched, 15) == {"o1": ["a", "b"]}


def test_router_sends_portal_outage_to_every_centre_once() -> None:
    routes: dict[str, Route] = {}
    declared = ev("visa.outage.declared.v1",
                  outage("o1", at(3, 15), at(3, 19), centre_ids=("a", "b")), subject="")
    assert [c.subject for c in route(routes, declared)] == ["a", "b"]
    lifted = ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject="")
    assert [c.subject for c in route(routes, lifted)] == ["a", "b"]


def test_router_holds_a_lift_that_comes_before_its_declaration() -> None:
    routes: dict[str, Route] = {}
    lifted = ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject="")
    assert route(routes, lifted) == []
    declared = ev("visa.outage.declared.v1",
                  outage("o1", at(3, 15), at(3, 19), centre_ids=("a",)), subject="")
    copies = route(routes, declared)
    assert [(c.type, c.subject) for c in copies] == [
        ("visa.outage.declared.v1", "a"), ("visa.outage.lifted.v1", "a")]


def test_events_that_free_places_note_room_for_the_waiting() -> None:
    state = fold(ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1)),
                 ev("visa.booking.created.v1", booking("b1", at(3, 9))),
                 ev("visa.booking.created.v1", booking("b2", at(3, 9))))
    assert state.batch.room == {"short_stay"}  # a new slot is room
    state.batch.clear()
    for quiet in (ev("visa.slots.published.v1", slots([at(3, 9)], capacity=1), eid="same"),
                  ev("visa.slots.withdrawn.v1", {"centre_id": CENTRE, "service": "short_stay",
                                                 "starts": [at(3, 9)]})):
        apply(state, quiet)
        assert state.batch.room == set(), quiet.type
    moved = ev("visa.booking.moved.v1", {"booking_id": "b1", "centre_id": CENTRE,
                                         "slot_start": at(4, 9)})
    apply(state, moved)
    assert (state.batch.room, state.batch.trigger, state.batch.plan_cause) == (
        {"short_stay"}, "capacity", moved.id)
    cancelled = ev("visa.booking.cancelled.v1", {"booking_id": "b2", "centre_id": CENTRE})
    apply(state, cancelled)
    assert state.batch.plan_cause == moved.id  # the batch's first room event names the plans
    assert state.batch.room_time == cancelled.time


def test_a_lift_or_a_revision_reopens_what_the_outage_stopped() -> None:
    state = fold(ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19),
                                                      services=["long_stay"])))
    state.batch.clear()
    apply(state, ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 16),
                                               "end": at(3, 19)}, subject=CENTRE))
    assert (state.batch.room, state.batch.trigger) == ({"long_stay"}, "revision")
    assert state.outages["o1"].revised is not None
    state.batch.clear()
    apply(state, ev("visa.outage.lifted.v1", {"outage_id": "o1"}, subject=CENTRE))
    assert (state.batch.room, state.batch.trigger, state.batch.reopened) == (
        {"long_stay"}, "lift", True)
