"""An exact CP-SAT model, for instances small enough to prove optimal.

Single bookings stay aggregated (an integer count per class and slot); family members get
a boolean per slot, and each placed family picks one window (day, start) that holds all
its members. cpsat_model.py decides which decisions the model needs at all.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from services.scheduler.solver.bounds import Duals
from services.scheduler.solver.cpsat_model import Assignment, ExactModel, Window
from services.scheduler.solver.families import Family, SlotRef
from services.scheduler.solver.model import SolveParams
from services.scheduler.solver.tables import BookingClass, ServiceSlots


@dataclass(frozen=True)
class ExactResult:
    assignment: Assignment
    cost: int
    bound: int  # a true lower bound on the optimum (already capped at the hint's cost)
    optimal: bool


def solve_exact(
    singles: Sequence[BookingClass],
    together: Sequence[Family],
    exact: ExactModel,
    duals: Duals,
    hint: Assignment,
    hint_cost: int,
    params: SolveParams,
) -> ExactResult | None:
    """The CP-SAT answer, or None when it found nothing (never raises for a timeout)."""
    model = cp_model.CpModel()
    load: dict[SlotRef, list[cp_model.LinearExprT]] = {}
    objective: list[cp_model.LinearExprT] = []
    counts = _single_variables(model, singles, exact, hint, load, objective)
    chosen = _family_variables(model, together, exact, duals, hint, load, objective)
    tables = duals.reduced.tables
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
    bound = min(hint_cost, int(np.ceil(solver.best_objective_bound - 1e-6)))
    return ExactResult(assignment, round(solver.objective_value), bound,
                       status == cp_model.OPTIMAL)


def _deterministic(solver: cp_model.CpSolver, params: SolveParams) -> None:
    # Deterministic time, not wall time, decides when to stop: a replay gets the same plan.
    # Measured here, one unit of deterministic time takes 1-5 s of wall time on this
    # model, hence the factor; the wall limit is a safety net only.
    solver.parameters.num_workers = max(1, params.workers)
    solver.parameters.interleave_search = params.workers > 1
    solver.parameters.random_seed = params.seed
    solver.parameters.max_deterministic_time = DETERMINISTIC_PER_SECOND * params.time_limit_s
    solver.parameters.max_time_in_seconds = 3 * params.time_limit_s + 1


DETERMINISTIC_PER_SECOND = 0.2


def _single_variables(
    model: cp_model.CpModel,
    singles: Sequence[BookingClass],
    exact: ExactModel,
    hint: Assignment,
    load: dict[SlotRef, list[cp_model.LinearExprT]],
    objective: list[cp_model.LinearExprT],
) -> list[list[tuple[SlotRef, cp_model.IntVar]]]:
    counts = []
    for k, (cls, options) in enumerate(zip(singles, exact.class_arcs, strict=True)):
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
    exact: ExactModel,
    duals: Duals,
    hint: Assignment,
    load: dict[SlotRef, list[cp_model.LinearExprT]],
    objective: list[cp_model.LinearExprT],
) -> dict[str, list[tuple[SlotRef, cp_model.IntVar]]]:
    # A placed family picks one window; each member picks one slot inside it.
    chosen: dict[str, list[tuple[SlotRef, cp_model.IntVar]]] = {}
    tables = duals.reduced.tables
    width = duals.reduced.policy.group_window_min
    for family in together:
        windows = exact.windows[family.group_id]
        placed = model.new_bool_var(f"placed_{family.group_id}")
        model.add_hint(placed, hint.get(family.members[0].booking_id) is not None)
        picks = [model.new_bool_var(f"w_{family.group_id}_{d}_{t}") for d, t in windows]
        model.add(sum(picks) == placed)
        hinted = _hinted_window(family, hint, tables)
        for pick, window in zip(picks, windows, strict=True):
            model.add_hint(pick, window == hinted)
        for member in family.members:
            cls = duals.reduced.class_of[member.booking_id]
            objective.append(cls.unplaced * (1 - placed))
            options = []
            for ref, cost in exact.member_arcs[member.booking_id]:
                var = model.new_bool_var(f"m{member.booking_id}_{ref[0]}_{ref[1]}")
                model.add_hint(var, hint.get(member.booking_id) == ref)
                day, minute = int(tables[ref[0]].day[ref[1]]), int(tables[ref[0]].minute[ref[1]])
                model.add(var <= sum(p for p, (d, t) in zip(picks, windows, strict=True)
                                     if d == day and t <= minute <= t + width))
                load.setdefault(ref, []).append(var)
                objective.append(cost * var)
                options.append((ref, var))
            model.add(sum(var for _, var in options) == placed)
            chosen[member.booking_id] = options
    return chosen


def _hinted_window(
    family: Family, hint: Assignment, tables: Mapping[str, ServiceSlots]
) -> Window | None:
    # The window the hint seats the family in: its day, and its earliest start.
    refs = [hint.get(m.booking_id) for m in family.members]
    if any(ref is None for ref in refs):
        return None
    starts = [int(tables[s].minute[i]) for s, i in (r for r in refs if r is not None)]
    days = {int(tables[s].day[i]) for s, i in (r for r in refs if r is not None)}
    return (days.pop(), min(starts + [m for m, _ in family.anchors])) if len(days) == 1 else None


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
