"""Properties on random small centres: every plan is valid, costed right, and its bound is
a true lower bound (checked against brute force where the centre is tiny)."""

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scheduler.solver import Plan, SolveParams, greedy, plan_cost, solve, validate
from services.scheduler.solver.bounds import flow_duals
from services.scheduler.solver.cpsat import solve_exact
from services.scheduler.solver.cpsat_model import exact_model
from services.scheduler.solver.families import families
from services.scheduler.solver.flow import min_cost_placement
from services.scheduler.solver.model import Assignment, Displaced, Instance, Policy, Slot
from services.scheduler.solver.repair import members_to_slots
from services.scheduler.solver.solve import to_assignments
from services.scheduler.solver.tables import booking_classes, family_windows, service_slots
from services.scheduler.solver.validate import expected_reason, unplaced_groups_reasons
from tests.unit.test_rules import at

TIMES = [(9, 0), (9, 15), (9, 30), (10, 0), (13, 0)]
SERVICES = ["short_stay", "premium"]
# Day 0 of a random centre: a plain March day, then the eves of the commitment windows'
# edges (30 Apr -> 1 May leaves one, 1 -> 2 Dec too, 31 Dec -> 1 Jan enters one), so
# that officials' slots fall on both sides of an edge.
BASES = [date(2025, 3, 9), date(2025, 4, 28), date(2025, 11, 29), date(2025, 12, 29)]


def moment(base: date, offset: int, time: tuple[int, int]) -> datetime:
    return datetime.combine(base + timedelta(days=offset), dt_time(*time), tzinfo=UTC)


@st.composite
def centres(draw: st.DrawFn) -> Instance:
    base = draw(st.sampled_from(BASES))
    slot_keys = draw(st.lists(
        st.tuples(st.sampled_from(SERVICES[:draw(st.integers(1, 2))]),
                  st.integers(0, 3), st.sampled_from(TIMES)),
        min_size=1, max_size=6, unique=True))
    slots = [Slot(service=service, start=moment(base, day, time),
                  day=base + timedelta(days=day), free=draw(st.integers(0, 3)))
             for service, day, time in slot_keys]
    count = draw(st.integers(1, 5))
    bookings = []
    for index in range(count):
        day = draw(st.integers(1, 2))
        travel = draw(st.none() | st.integers(10, 40))  # deadlines around the slots' days
        bookings.append(Displaced(
            booking_id=f"b{index}", service=draw(st.sampled_from(SERVICES)),
            from_start=moment(base, day, draw(st.sampled_from(TIMES))),
            from_day=base + timedelta(days=day),
            category=draw(st.sampled_from(["standard", "official", "official", "medical"])),
            outage_day=base + timedelta(days=1),
            travel_date=None if travel is None else base + timedelta(days=travel),
            group_id=draw(st.none() | st.sampled_from(["g1", "g2"])),
            moved_before=draw(st.booleans()),
        ))
    groups = {b.group_id for b in bookings if b.group_id}
    anchors = {}
    for group in sorted(groups):
        if draw(st.booleans()):
            day = draw(st.integers(1, 2))
            anchors[group] = ((moment(base, day, draw(st.sampled_from(TIMES))),
                               base + timedelta(days=day)),)
    horizon = draw(st.sampled_from([1, 30, 60]))
    earliest = draw(st.sampled_from([moment(base, 0, (0, 0)), moment(base, 1, (9, 10))]))
    return Instance(centre_id="c", earliest=earliest, bookings=tuple(bookings),
                    slots=tuple(slots), anchors=anchors, policy=Policy(horizon_days=horizon))


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
                                              reasons, centre.policy))
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


def family_blind_flow(centre: Instance) -> tuple[int, int]:
    """The flow ignoring families: its own cost, and the validator's cost of its places."""
    tables = service_slots(centre)
    classes = booking_classes(list(centre.bookings), tables, centre.policy,
                              family_windows(centre, tables))
    flow = min_cost_placement(classes, tables, {s: t.free for s, t in tables.items()},
                              centre.policy)
    places = members_to_slots(classes, flow, tables, centre.policy.group_window_min)
    return flow.cost, plan_cost(centre, to_assignments(centre, tables, places))


def exact_plan(centre: Instance) -> tuple[Plan, bool] | None:
    """CP-SAT's plan from an all-unplaced hint (as solve.py builds the model), and whether
    CP-SAT proved it optimal; None when the model is too large or finds nothing."""
    tables = service_slots(centre)
    policy = centre.policy
    classes = booking_classes(list(centre.bookings), tables, policy,
                              family_windows(centre, tables))
    relaxed = min_cost_placement(classes, tables, {s: t.free for s, t in tables.items()},
                                 policy)
    duals = flow_duals(relaxed, classes, tables, policy)
    together = families(centre)
    in_family = {m.booking_id for f in together for m in f.members}
    singles = booking_classes([b for b in centre.bookings if b.booking_id not in in_family],
                              dict(tables), policy)
    hint: dict[str, tuple[str, int] | None] = dict.fromkeys(
        (b.booking_id for b in centre.bookings), None)
    hint_cost = plan_cost(centre, to_assignments(centre, tables, hint))
    demand = Counter(b.service for b in centre.bookings)
    model = exact_model(singles, together, duals, hint_cost - duals.value, demand, hint)
    if model is None:
        return None
    found = solve_exact(singles, together, model, duals, hint, hint_cost,
                        SolveParams(time_limit_s=0.5))
    if found is None:
        return None
    decisions = to_assignments(centre, tables, found.assignment)
    return Plan(assignments=decisions, cost=found.cost, bound=found.bound,
                status="optimal" if found.cost == found.bound else "feasible",
                solve_ms=0), found.optimal


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(centres())
def test_flow_cpsat_greedy_and_validator_agree(centre: Instance) -> None:
    # Each prices decisions with cost.py in its own way (arrays, day hubs, CP-SAT
    # coefficients, one booking at a time): their costs must be the validator's.
    flow_cost, validated = family_blind_flow(centre)
    assert flow_cost == validated
    baseline = greedy(centre)
    assert validate(centre, baseline) == []
    exact = exact_plan(centre)
    if exact is not None:
        assert validate(centre, exact[0]) == []  # its cost is the validator's cost too
    if len(centre.bookings) <= 4 and len({s.start for s in centre.slots}) <= 4:
        optimum = brute_force_optimum(centre)
        assert flow_cost <= optimum <= baseline.cost  # the flow is a relaxation
        if exact is not None:
            assert exact[0].bound <= optimum <= exact[0].cost
            if exact[1]:
                assert exact[0].cost == optimum


def test_horizon_edge_is_inclusive() -> None:
    start = at(10, 10)
    centre = Instance(
        centre_id="c", earliest=at(9, 0),
        bookings=(Displaced(booking_id="b", service="short_stay", from_start=start,
                            from_day=date(2025, 3, 10), category="standard",
                            outage_day=date(2025, 3, 10)),),
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
