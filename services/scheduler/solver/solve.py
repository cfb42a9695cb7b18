"""solve(instance, params) -> Plan: pure, deterministic, and honest about its bound.

1. A min-cost flow over classes of interchangeable bookings, blind to families: exact for
   everyone else and a proven lower bound. If it splits no family, it is the optimum.
2. Otherwise the split families get windows priced by the flow's duals, the single
   bookings are re-flowed around them, and a local search moves families while an exact
   re-flow confirms each step (repair.py, improve.py). LP duality adds what keeping each
   split family together must cost to the bound (bounds.py).
3. Instances small enough get an exact CP-SAT model that may improve the plan and prove
   it optimal (cpsat.py).
"""

from collections.abc import Mapping, Sequence
from time import perf_counter

from services.scheduler.solver import cpsat
from services.scheduler.solver.bounds import Duals, family_bound, flow_duals
from services.scheduler.solver.cpsat_model import exact_model
from services.scheduler.solver.families import Family, MemberCosts, SlotRef, families
from services.scheduler.solver.flow import FlowResult, min_cost_placement
from services.scheduler.solver.improve import Neighbourhood
from services.scheduler.solver.model import Assignment, Instance, Plan, SolveParams
from services.scheduler.solver.repair import family_places, members_to_slots, split_families
from services.scheduler.solver.tables import (
    BookingClass,
    ServiceSlots,
    booking_classes,
    family_windows,
    service_slots,
)
from services.scheduler.solver.validate import expected_reason, plan_cost, unplaced_groups_reasons

Places = dict[str, SlotRef | None]
FLOW_SECONDS_PER_BOOKING = 3e-5  # measured: one flow over n displaced takes ~n * 30 us
SEARCH_SHARE = 0.25  # of the time limit, spent re-solving flows in the local search
MOVE_ALL_FAMILIES_UP_TO = 60


def solve(instance: Instance, params: SolveParams) -> Plan:
    """The best plan found within the deterministic budget, with a proven lower bound."""
    started = perf_counter()
    tables = service_slots(instance)
    classes = booking_classes(list(instance.bookings), tables, instance.policy,
                              family_windows(instance, tables))
    capacity = {service: table.free for service, table in tables.items()}
    relaxed = min_cost_placement(classes, tables, capacity, instance.policy)
    places = members_to_slots(classes, relaxed, tables, instance.policy.group_window_min)
    together = families(instance)
    split = split_families(together, places, tables, instance.policy)
    bound = relaxed.cost
    if split:
        duals = flow_duals(relaxed, classes, tables, instance.policy)
        bound = family_bound(duals, relaxed.cost, split)
        places, proven = _keep_families_together(instance, tables, classes, relaxed, duals,
                                                 together, split, places, params)
        bound = max(bound, proven)
    decisions = to_assignments(instance, tables, places)
    cost = plan_cost(instance, decisions)
    return Plan(
        assignments=decisions,
        cost=cost,
        bound=bound,
        status="optimal" if cost == bound else "feasible",
        solve_ms=round((perf_counter() - started) * 1000),
    )


def _keep_families_together(
    instance: Instance,
    tables: Mapping[str, ServiceSlots],
    classes: Sequence[BookingClass],
    relaxed: FlowResult,
    duals: Duals,
    together: Sequence[Family],
    split: Sequence[Family],
    places: Places,
    params: SolveParams,
) -> tuple[Places, int]:
    """Places that keep families together, and any bound CP-SAT proved on the way."""
    costs = MemberCosts.of(classes, tables, instance.policy)
    in_family = {m.booking_id for f in together for m in f.members}
    singles = booking_classes(
        [b for b in instance.bookings if b.booking_id not in in_family], dict(tables),
        instance.policy,
    )
    # Few families: any of them may move; many: only those the flow split (the others sit
    # where the flow put them, and pricing every one each round would cost more than it
    # finds).
    movable = together if len(together) <= MOVE_ALL_FAMILIES_UP_TO else split
    hood = Neighbourhood(together, singles, costs, frozenset(f.group_id for f in movable))
    start = min(
        (hood.evaluate(family_places(together, split, places, costs, relaxed, keep_at_gain))
         for keep_at_gain in (True, False)),
        key=lambda layout: layout.cost,
    )
    layout = hood.improve(start, flow_budget(len(instance.bookings), params))
    result = members_to_slots(singles, layout.singles, tables, instance.policy.group_window_min)
    for family in together:
        result.update(zip((m.booking_id for m in family.members),
                          layout.families[family.group_id], strict=True))
    return _exactly_if_small(instance, singles, together, duals, result, layout.cost, params)


def _exactly_if_small(
    instance: Instance,
    singles: Sequence[BookingClass],
    together: Sequence[Family],
    duals: Duals,
    places: Places,
    cost: int,
    params: SolveParams,
) -> tuple[Places, int]:
    # Small instances get the exact model: it may improve the plan and prove it optimal.
    demand: dict[str, int] = {}
    for booking in instance.bookings:
        demand[booking.service] = demand.get(booking.service, 0) + 1
    exact = exact_model(singles, together, duals, cost - duals.value, demand, places)
    if exact is None:
        return places, 0
    found = cpsat.solve_exact(singles, together, exact, duals, places, cost, params)
    if found is None:
        return places, 0
    return (found.assignment if found.cost < cost else places), found.bound


def flow_budget(displaced: int, params: SolveParams) -> int:
    """How many flows the local search may solve: a count, so results never depend on
    the machine's speed, sized so that they take about SEARCH_SHARE of the time limit."""
    one_flow = FLOW_SECONDS_PER_BOOKING * max(displaced, 500)
    return max(1, int(SEARCH_SHARE * params.time_limit_s / one_flow))


def to_assignments(
    instance: Instance, tables: Mapping[str, ServiceSlots], places: Mapping[str, SlotRef | None]
) -> tuple[Assignment, ...]:
    """One decision per displaced booking, with the reason code, sorted by booking id."""
    group_reasons = unplaced_groups_reasons(instance)
    decisions = []
    for booking in sorted(instance.bookings, key=lambda b: b.booking_id):
        ref = places.get(booking.booking_id)
        slot = None if ref is None else tables[ref[0]].slots[ref[1]]
        decisions.append(
            Assignment(
                booking_id=booking.booking_id,
                to_start=None if slot is None else slot.start,
                reason=expected_reason(booking, None if slot is None else slot.day,
                                       group_reasons, instance.policy),
            )
        )
    return tuple(decisions)


