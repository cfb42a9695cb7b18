"""Properties on random small centres: every plan is valid, costed right, and its bound is
a true lower bound (checked against brute force where the centre is tiny)."""

import itertools
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scheduler.solver import Plan, SolveParams, plan_cost, solve, validate
from services.scheduler.solver.model import Assignment, Displaced, Instance, Policy, Slot
from services.scheduler.solver.validate import expected_reason, unplaced_groups_reasons
from tests.unit.test_rules import at

TIMES = [(9, 0), (9, 15), (9, 30), (10, 0), (13, 0)]
SERVICES = ["short_stay", "premium"]


@st.composite
def centres(draw: st.DrawFn) -> Instance:
    slot_keys = draw(st.lists(
        st.tuples(st.sampled_from(SERVICES[:draw(st.integers(1, 2))]),
                  st.integers(9, 12), st.sampled_from(TIMES)),
        min_size=1, max_size=6, unique=True))
    slots = [Slot(service=service, start=at(day, *time), day=date(2025, 3, day),
                  free=draw(st.integers(0, 3))) for service, day, time in slot_keys]
    count = draw(st.integers(1, 5))
    bookings = []
    for index in range(count):
        day = draw(st.integers(10, 11))
        deadline = draw(st.none() | st.integers(9, 12))
        bookings.append(Displaced(
            booking_id=f"b{index}", service=draw(st.sampled_from(SERVICES)),
            from_start=at(day, *draw(st.sampled_from(TIMES))), from_day=date(2025, 3, day),
            category=draw(st.sampled_from(["standard", "official", "medical"])),
            deadline=None if deadline is None else date(2025, 3, deadline),
            group_id=draw(st.none() | st.sampled_from(["g1", "g2"])),
        ))
    groups = {b.group_id for b in bookings if b.group_id}
    anchors = {}
    for group in sorted(groups):
        if draw(st.booleans()):
            day = draw(st.integers(10, 11))
            anchors[group] = ((at(day, *draw(st.sampled_from(TIMES))), date(2025, 3, day)),)
    horizon = draw(st.sampled_from([1, 30]))
    return Instance(centre_id="c", earliest=draw(st.sampled_from([at(9, 0), at(10, 9, 10)])),
                    bookings=tuple(bookings), slots=tuple(slots), anchors=anchors,
                    policy=Policy(horizon_days=horizon))


def brute_force_optimum(centre: Instance) -> int:
    """The cheapest valid plan, by trying every choice of every booking."""
    starts = sorted({s.start for s in centre.slots})
    days = {s.start: s.day for s in centre.slots}
    reasons = unplaced_groups_reasons(centre)
    ordered = sorted(centre.bookings, key=lambda b: b.booking_id)
    best = None
    for choice in itertools.product([None, *starts], repeat=len(ordered)):
        decisions = tuple(
            Assignment(booking_id=b.booking_id, to_start=start,
                       reason=expected_reason(b, None if start is None else days[start],
                                              reasons))
            for b, start in zip(ordered, choice, strict=True)
        )
        cost = plan_cost(centre, decisions)
        if best is not None and cost >= best:
            continue
        plan = Plan(assignments=decisions, cost=cost, bound=0, status="feasible", solve_ms=0)
        if not validate(centre, plan):
            best = cost
    assert best is not None  # leaving everyone unplaced is always valid
    return best


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(centres())
def test_every_plan_is_valid_and_bounded(centre: Instance) -> None:
    plan = solve(centre, SolveParams(time_limit_s=0.5))
    assert validate(centre, plan) == []
    assert plan.cost == plan_cost(centre, plan.assignments)
    assert plan.bound <= plan.cost
    if len(centre.bookings) <= 4 and len({s.start for s in centre.slots}) <= 4:
        optimum = brute_force_optimum(centre)
        assert plan.bound <= optimum <= plan.cost
        if plan.status == "optimal":
            assert plan.cost == optimum


def test_horizon_edge_is_inclusive() -> None:
    start = at(10, 10)
    centre = Instance(
        centre_id="c", earliest=at(9, 0),
        bookings=(Displaced(booking_id="b", service="short_stay", from_start=start,
                            from_day=date(2025, 3, 10), category="standard"),),
        slots=(Slot(service="short_stay", start=start + timedelta(days=30),
                    day=date(2025, 4, 9), free=1),),
    )
    plan = solve(centre, SolveParams())
    assert plan.assignments[0].to_start == start + timedelta(days=30)
    assert isinstance(plan.assignments[0].to_start, datetime)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(10, 400), st.integers(0, 10_000), st.floats(0.0, 0.6))
def test_generated_centres_get_valid_plans(size: int, seed: int, share: float) -> None:
    # Families, members staying put, tight days: the repair and search paths, at random.
    from bench.generator import generate

    centre = generate(size, seed, share)
    plan = solve(centre, SolveParams(time_limit_s=0.3))
    assert validate(centre, plan) == []
