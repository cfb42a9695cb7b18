"""An exact CP-SAT model of the whole problem, for instances small enough to prove.

Single bookings stay aggregated (an integer count per class and slot, with the flow's
exact pruning: it holds with families too, since full slots still hold at most the
service's whole demand); family members get one boolean per candidate slot, and each
placed family shares a day and a window start. The flow-and-repair plan is the hint.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from services.scheduler.solver.families import Family, MemberCosts, SlotRef
from services.scheduler.solver.model import Policy, SolveParams
from services.scheduler.solver.tables import BookingClass, IntArray, ServiceSlots, class_costs

Assignment = dict[str, SlotRef | None]
MAX_VARIABLES = 20_000  # beyond this the model cannot prove much within a second or two


@dataclass(frozen=True)
class ExactResult:
    assignment: Assignment
    cost: int
    bound: int
    optimal: bool


@dataclass(frozen=True)
class _Arcs:
    """(owner, slot, unit cost) triples of the model, owners being classes or members."""

    class_arcs: list[list[tuple[SlotRef, int]]]
    member_arcs: dict[str, list[tuple[SlotRef, int]]]

    @property
    def size(self) -> int:
        return sum(map(len, self.class_arcs)) + sum(map(len, self.member_arcs.values()))


def exact_arcs(
    singles: Sequence[BookingClass],
    together: Sequence[Family],
    costs: MemberCosts,
    tables: Mapping[str, ServiceSlots],
    demand: Mapping[str, int],
) -> _Arcs:
    """Every arc an optimal plan may use."""
    class_arcs = [_kept_slots(cls, tables, demand, costs.policy) for cls in singles]
    member_arcs = {
        m.booking_id: _member_slots(m.booking_id, family, costs)
        for family in together for m in family.members
    }
    return _Arcs(class_arcs, member_arcs)


def _kept_slots(
    cls: BookingClass, tables: Mapping[str, ServiceSlots], demand: Mapping[str, int],
    policy: Policy,
) -> list[tuple[SlotRef, int]]:
    # A class never needs a slot dearer than the cheapest ones that hold the whole demand.
    table = tables.get(cls.service)
    if table is None or cls.reach == 0:
        return []
    cost = class_costs(cls, table, policy)
    order = np.argsort(cost, kind="stable")
    enough = np.cumsum(table.free[:cls.reach][order]) >= demand[cls.service]
    cap = int(cost[order][int(enough.argmax())]) if enough.any() else int(cost.max())
    keep = np.flatnonzero((cost <= cap) & (cost < cls.unplaced))
    return [((cls.service, int(i)), int(cost[i])) for i in keep]


def _member_slots(booking_id: str, family: Family, costs: MemberCosts) -> list[tuple[SlotRef, int]]:
    # Every candidate; anchored families only near the members who stay.
    cls = costs.class_of[booking_id]
    table = costs.tables.get(cls.service)
    price: IntArray = costs.costs(cls.members[0])
    if table is None:
        return []
    keep = np.arange(len(price))
    if cls.window is not None:
        day, lo, hi = cls.window
        minute, days = table.minute[: len(price)], table.day[: len(price)]
        keep = np.flatnonzero((days == day) & (minute >= lo) & (minute <= hi))
    return [((cls.service, int(i)), int(price[i])) for i in keep]


def solve_exact(
    singles: Sequence[BookingClass],
    together: Sequence[Family],
    arcs: _Arcs,
    costs: MemberCosts,
    tables: Mapping[str, ServiceSlots],
    hint: Assignment,
    params: SolveParams,
) -> ExactResult | None:
    """The CP-SAT answer, or None when it found nothing (never raises for a timeout)."""
    model = cp_model.CpModel()
    load: dict[SlotRef, list[cp_model.LinearExprT]] = {}
    objective: list[cp_model.LinearExprT] = []
    counts = _single_variables(model, singles, arcs, hint, load, objective)
    chosen = _family_variables(model, together, arcs, costs, tables, hint, load, objective)
    for (service, index), used in sorted(load.items()):
        model.add(sum(used) <= int(tables[service].free[index]))
    model.minimize(sum(objective))
    solver = cp_model.CpSolver()
    _deterministic(solver, params)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    assignment = _read_singles(solver, singles, counts)
    for booking_id, options in chosen.items():
        assignment[booking_id] = next((ref for ref, var in options if solver.value(var)), None)
    return ExactResult(assignment, round(solver.objective_value),
                       int(np.ceil(solver.best_objective_bound - 1e-6)),
                       status == cp_model.OPTIMAL)


def _deterministic(solver: cp_model.CpSolver, params: SolveParams) -> None:
    # Deterministic time, not wall time, decides when to stop: a replay gets the same plan.
    solver.parameters.num_workers = max(1, params.workers)
    solver.parameters.interleave_search = params.workers > 1
    solver.parameters.random_seed = params.seed
    solver.parameters.max_deterministic_time = params.time_limit_s
    solver.parameters.max_time_in_seconds = 10 * params.time_limit_s + 5  # safety only


def _single_variables(
    model: cp_model.CpModel,
    singles: Sequence[BookingClass],
    arcs: _Arcs,
    hint: Assignment,
    load: dict[SlotRef, list[cp_model.LinearExprT]],
    objective: list[cp_model.LinearExprT],
) -> list[list[tuple[SlotRef, cp_model.IntVar]]]:
    counts = []
    for k, (cls, options) in enumerate(zip(singles, arcs.class_arcs, strict=True)):
        hinted: dict[SlotRef, int] = {}
        for member in cls.members:
            ref = hint.get(member.booking_id)
            if ref is not None:
                hinted[ref] = hinted.get(ref, 0) + 1
        row = []
        for ref, cost in options:
            var = model.new_int_var(0, cls.size, f"c{k}_{ref[0]}_{ref[1]}")
            model.add_hint(var, hinted.get(ref, 0))
            load.setdefault(ref, []).append(var)
            objective.append(cost * var)
            row.append((ref, var))
        placed = sum(var for _, var in row)
        model.add(placed <= cls.size)
        objective.append(cls.unplaced * (cls.size - placed))
        counts.append(row)
    return counts


def _family_variables(
    model: cp_model.CpModel,
    together: Sequence[Family],
    arcs: _Arcs,
    costs: MemberCosts,
    tables: Mapping[str, ServiceSlots],
    hint: Assignment,
    load: dict[SlotRef, list[cp_model.LinearExprT]],
    objective: list[cp_model.LinearExprT],
) -> dict[str, list[tuple[SlotRef, cp_model.IntVar]]]:
    chosen: dict[str, list[tuple[SlotRef, cp_model.IntVar]]] = {}
    window = costs.policy.group_window_min
    origin = min((int(t.minute[0]) for t in tables.values() if len(t.minute)), default=0)
    for family in together:
        placed = model.new_bool_var(f"placed_{family.group_id}")
        model.add_hint(placed, hint.get(family.members[0].booking_id) is not None)
        day = model.new_int_var(0, 10**7, f"day_{family.group_id}")
        start = model.new_int_var(-(10**8), 10**8, f"start_{family.group_id}")
        for member in family.members:
            options = _member_choice(model, member.booking_id, arcs, hint, load, objective)
            chosen[member.booking_id] = options
            model.add(sum(var for _, var in options) == placed)
            minute = sum((int(tables[s].minute[i]) - origin) * v for (s, i), v in options)
            on_day = sum(int(tables[s].day[i]) * v for (s, i), v in options)
            model.add(on_day == day).only_enforce_if(placed)
            model.add(minute >= start).only_enforce_if(placed)
            model.add(minute <= start + window).only_enforce_if(placed)
            objective.append(costs.class_of[member.booking_id].unplaced * (1 - placed))
        for anchor_minute, anchor_day in family.anchors:
            model.add(day == anchor_day).only_enforce_if(placed)
            model.add(start <= anchor_minute - origin).only_enforce_if(placed)
            model.add(start + window >= anchor_minute - origin).only_enforce_if(placed)
    return chosen


def _member_choice(
    model: cp_model.CpModel,
    booking_id: str,
    arcs: _Arcs,
    hint: Assignment,
    load: dict[SlotRef, list[cp_model.LinearExprT]],
    objective: list[cp_model.LinearExprT],
) -> list[tuple[SlotRef, cp_model.IntVar]]:
    options = []
    for ref, cost in arcs.member_arcs[booking_id]:
        var = model.new_bool_var(f"m{booking_id}_{ref[0]}_{ref[1]}")
        model.add_hint(var, hint.get(booking_id) == ref)
        load.setdefault(ref, []).append(var)
        objective.append(cost * var)
        options.append((ref, var))
    return options


def _read_singles(
    solver: cp_model.CpSolver,
    singles: Sequence[BookingClass],
    counts: list[list[tuple[SlotRef, cp_model.IntVar]]],
) -> Assignment:
    assignment: Assignment = {}
    for cls, row in zip(singles, counts, strict=True):
        places = [ref for ref, var in row for _ in range(solver.value(var))]
        for position, member in enumerate(cls.members):
            assignment[member.booking_id] = places[position] if position < len(places) else None
    return assignment
