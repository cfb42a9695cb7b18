"""Property (hypothesis): random sequences of capacity events on a small centre whose
outage left bookings waiting never break a hard rule, never move a placed booking to make
room, shrink the waiting list only when room appears, and the advice always covers the
waiting exactly."""

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scheduler.domain.process import process, settle
from services.scheduler.domain.state import CentreState
from services.scheduler.solver.model import Instance, Plan, SolveParams
from services.scheduler.solver.solve import solve
from services.scheduler.solver.validate import validate
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots
from tests.unit.living import CONFIG

STARTS = [at(d, h) for d in (3, 4, 7) for h in (9, 10, 16)]  # the outage stops 3 Dec
OUTAGE = ("o1", at(3, 8), at(3, 18))
SOLVED: list[tuple[Instance, Plan]] = []


def recording_solver(instance: Instance, params: SolveParams) -> Plan:
    plan = solve(instance, params)
    SOLVED.append((instance, plan))
    return plan


RECORDING = dataclasses.replace(CONFIG, solver=recording_solver)


def run(state: CentreState, events: list[Any]) -> list[Any]:
    out = []
    for e in events:
        out += process(state, e, RECORDING)[0]
    return out + settle(state, RECORDING)[0]


def start_state() -> CentreState:
    """Every place of 4 and 7 Dec taken; six bookings (a family of two) in the outage."""
    state = CentreState(CENTRE)
    run(state, [ev("visa.centre.registered.v1", centre()),
                ev("visa.slots.published.v1", slots(STARTS, capacity=1)),
                *(ev("visa.booking.created.v1", booking(f"p{i}", t))
                  for i, t in enumerate(STARTS[3:])),
                *(ev("visa.booking.created.v1", booking(f"w{i}", at(3, 9 + i % 2),
                                                        group_id="fam" if i < 2 else None))
                  for i in range(6)),
                ev("visa.outage.declared.v1", outage(*OUTAGE))])
    return state


capacity_event = st.one_of(
    st.tuples(st.just("publish"), st.integers(0, len(STARTS) - 1), st.integers(0, 3)),
    st.tuples(st.just("cancel"), st.sampled_from([f"p{i}" for i in range(6)]
                                                 + [f"w{i}" for i in range(6)]), st.just(0)),
    st.tuples(st.just("move"), st.sampled_from([f"p{i}" for i in range(6)]),
              st.integers(3, len(STARTS) - 1)),  # out of the outage: no new displacement
)


def to_event(step: tuple[str, Any, int], n: int) -> Any:
    kind, what, value = step
    if kind == "publish":
        return ev("visa.slots.published.v1", slots([STARTS[what]], capacity=value), eid=f"e{n}")
    if kind == "cancel":
        return ev("visa.booking.cancelled.v1", {"booking_id": what, "centre_id": CENTRE},
                  eid=f"e{n}")
    return ev("visa.booking.moved.v1", {"booking_id": what, "centre_id": CENTRE,
                                        "slot_start": STARTS[value]}, eid=f"e{n}")


def adds_room(state: CentreState, step: tuple[str, Any, int]) -> bool:
    kind, what, value = step
    if kind == "publish":
        known = state.slots.get(("short_stay", STARTS[what].astimezone(dt.UTC)))
        return value > (known.capacity if known else 0)
    booking = state.bookings[what]
    return booking.active and (kind == "cancel" or booking.slot_start != STARTS[value])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(capacity_event, min_size=1, max_size=3), min_size=1, max_size=6))
def test_capacity_events_keep_every_rule(batches: list[list[tuple[str, Any, int]]]) -> None:
    state = start_state()
    SOLVED.clear()
    n = 0
    for steps in batches:
        before_waiting = set(state.waiting)
        before_slots = {b: r.slot_start for b, r in state.bookings.items()
                        if r.active and b not in state.waiting}
        room, touched = False, set()
        events = []
        for step in steps:
            room = room or adds_room(state, step)
            if step[0] != "publish":
                touched.add(step[1])
            events.append(to_event(step, n))
            n += 1
        out = run(state, events)
        for instance, plan in SOLVED:
            assert validate(instance, plan) == []
        SOLVED.clear()
        for e in out:
            if e.type == "visa.appointment.rescheduled.v1":
                assert e.data.reason == "from_waiting_list"
                assert e.data.booking_id in before_waiting  # only the waiting move
                key = ("short_stay", e.data.to_start)
                assert state.occupancy[key] <= state.slots[key].capacity
                assert not state.outages["o1"].covers("short_stay", e.data.to_start,
                                                      e.data.to_start + dt.timedelta(minutes=30))
        for booking_id, start in before_slots.items():  # placed: never moved to make room
            if booking_id not in touched:
                assert state.bookings[booking_id].slot_start == start
        if not room:
            assert state.waiting >= before_waiting
        by_outage = len(state.waiting)
        if by_outage:
            advice = state.advice["o1"]
            assert advice.waiting == by_outage
            assert sum(x.places for x in advice.extra) == by_outage
