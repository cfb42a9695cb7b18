"""Past days leave the calendar (domain/retirement.py): one test per rule, each with the
case where it applies and the case where it does not."""

import datetime as dt

import pytest

from services.common.failures import SettingError
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.retirement import retire, retirement_cut
from services.scheduler.domain.state import CentreState
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots
from tests.unit.living import by_type, run
from tests.unit.replying import ops, reply

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # the wall clock: after every event here


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)


def calendar() -> CentreState:
    """Early December: b-old on 1 Dec, b-new on 20 Dec; slots on both days and 2 Dec."""
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(1, 9), at(2, 9), at(20, 9)], capacity=1)),
        ev("visa.booking.created.v1", booking("b-old", at(1, 9))),
        ev("visa.booking.created.v1", booking("b-new", at(20, 9))))
    return state


def test_the_cut_is_whole_days_before_the_centres_clock_and_comes_once_a_day() -> None:
    state = calendar()
    assert CentreState(CENTRE).event_clock is None
    assert retirement_cut(CentreState(CENTRE), NOW, 30) is None  # no event: nothing known
    state.event_clock = at(31, 17, month=12)  # 31 Dec 16:00 UTC
    cut = retirement_cut(state, NOW, 30)
    assert cut == dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    retire(state, cut)
    assert retirement_cut(state, NOW, 30) is None  # the same day: nothing new to scan
    state.event_clock += dt.timedelta(days=1)
    assert retirement_cut(state, NOW, 30) == dt.datetime(2025, 12, 2, tzinfo=dt.UTC)


def test_an_event_stamped_ahead_of_the_wall_clock_retires_nothing_past_it() -> None:
    state = calendar()
    state.event_clock = dt.datetime(2199, 1, 1, tzinfo=dt.UTC)  # a producer's bad clock
    wall = dt.datetime(2025, 12, 10, 8, 0, tzinfo=dt.UTC)
    cut = retirement_cut(state, wall, 5)
    assert cut == dt.datetime(2025, 12, 5, tzinfo=dt.UTC)
    retire(state, cut)
    assert set(state.bookings) == {"b-new"}  # not the calendar after 5 Dec


def test_the_centres_clock_is_the_latest_time_its_booking_system_stamped() -> None:
    state = calendar()
    late = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
    run(state, ev("visa.booking.created.v1", booking("b-x", at(21, 9)), time=late))
    run(state, ev("visa.booking.created.v1", booking("b-y", at(21, 9))))  # older, read later
    assert state.event_clock == late
    run(state, ev("visa.outage.declared.v1", outage("o1", at(21, 8), at(21, 12))))
    assert "b-x" in state.replies.offers
    # A reply (or a timeout answer) carries our own services' clock: not the centre's.
    run(state, reply("confirmed", state, "b-x", "r1", time=late + dt.timedelta(days=300)))
    assert state.replies.offers["b-x"].state == "confirmed"
    assert state.event_clock == late


def test_a_past_booking_leaves_with_its_decision_and_offer_a_future_one_stays() -> None:
    state = calendar()
    run(state, ev("visa.outage.declared.v1", outage("o1", at(1, 8), at(1, 12))))
    assert "b-old" in state.decisions
    assert "b-old" in state.replies.offers
    moved_to = state.bookings["b-old"].slot_start
    assert moved_to == utc(at(2, 9))
    state.clear_dirty()
    retire(state, utc(at(3, 0)))
    assert "b-old" not in state.bookings
    assert "b-old" not in state.decisions
    assert "b-old" not in state.replies.offers
    assert "b-old" in state.replies.dirty_offers
    assert state.retired_bookings == {"b-old"}
    assert "b-new" in state.bookings
    assert ("short_stay", utc(at(20, 9))) in state.slots


def test_a_booking_still_waiting_stays_with_its_slot() -> None:
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(1, 9)], capacity=1)),
        ev("visa.booking.created.v1", booking("b-wait", at(1, 9))))
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(1, 8), at(1, 12))))
    assert by_type(out, "visa.appointment.unplaced")
    assert state.waiting == {"b-wait"}
    retire(state, utc(at(5, 0)))
    assert "b-wait" in state.bookings
    assert "b-wait" in state.decisions
    assert ("short_stay", utc(at(1, 9))) in state.slots  # held by a booking that waits
    assert state.retired_bookings == set()


def test_past_slots_leave_and_the_occupancy_stays_what_a_reload_would_count() -> None:
    state = calendar()
    run(state, ev("visa.booking.cancelled.v1", {"booking_id": "b-new", "centre_id": CENTRE}))
    retire(state, utc(at(2, 12)))
    assert sorted(k[1] for k in state.slots) == [utc(at(20, 9))]
    assert state.retired_slots == {("short_stay", utc(at(1, 9))), ("short_stay", utc(at(2, 9)))}
    assert set(state.bookings) == {"b-new"}  # cancelled, still ahead: kept
    counted = dict(state.occupancy)
    state.reindex()
    assert {k: n for k, n in counted.items() if n} == state.occupancy


def test_a_conflict_on_a_past_slot_is_resolved_with_it() -> None:
    state = calendar()
    key = ("short_stay", utc(at(1, 9)))
    state.conflicts[key] = (0, 1)
    state.clear_dirty()
    retire(state, utc(at(1, 12)))
    assert key not in state.conflicts
    assert key in state.dirty_conflicts
    future = ("short_stay", utc(at(20, 9)))
    state.conflicts[future] = (0, 1)
    retire(state, utc(at(2, 0)))
    assert state.conflicts == {future: (0, 1)}


def test_a_retention_shorter_than_a_reply_links_life_is_refused_at_start() -> None:
    with pytest.raises(SettingError, match="RESLOT_RETAIN_PAST_DAYS"):
        planning_config(Settings(retain_past_days=3, link_days_after_slot=3))
    assert planning_config(Settings(retain_past_days=4, link_days_after_slot=3))


def test_a_call_logged_in_the_batch_that_retires_its_booking_leaves_with_it() -> None:
    state = calendar()
    state.clear_dirty()
    run(state, ops("call.logged", "c1", booking_id="b-old", outcome="no_answer"),
        ops("call.logged", "c2", booking_id="b-new", outcome="reached"))
    assert [c.booking_id for c in state.replies.calls] == ["b-old", "b-new"]
    retire(state, utc(at(3, 0)))
    assert [c.booking_id for c in state.replies.calls] == ["b-new"]
