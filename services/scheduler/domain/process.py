"""One input event at one centre: fold it, then decide for every booking it displaced.

Pure apart from the solver's clock: the same state and event give the same output events.
"""

import datetime as dt
import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from schemas import data as d
from schemas.envelope import CloudEvent
from services.common.ids import derived_id
from services.scheduler.domain import outputs
from services.scheduler.domain.displacement import conflicts, displaced
from services.scheduler.domain.fold import Touched, apply
from services.scheduler.domain.planning import build_instance
from services.scheduler.domain.state import BatchNotes, CentreState, Decision, PlanSummary
from services.scheduler.solver.advice import capacity_advice
from services.scheduler.solver.greedy import greedy
from services.scheduler.solver.model import Instance, Plan, Policy, SolveParams
from services.scheduler.solver.validate import validate

log = logging.getLogger("reslot.scheduler")

Solver = Callable[[Instance, SolveParams], Plan]


@dataclass(frozen=True)
class PlanningConfig:
    policy: Policy
    params: SolveParams
    solver: Solver
    default_slot_min: int = 15


def process(state: CentreState, event: CloudEvent[Any], config: PlanningConfig,
            ) -> tuple[list[CloudEvent[Any]], list[PlanSummary]]:
    """Apply `event` to `state` (in place) and return the output events it causes now;
    what is decided once per batch waits for `settle`."""
    touched = apply(state, event)
    _note(state, event, touched)
    out: list[CloudEvent[Any]] = []
    summaries = []
    for outage_id, booking_ids in displaced(state, touched, config.default_slot_min).items():
        plan_events, summary = _plan(state, event, outage_id, booking_ids, config)
        out += plan_events
        summaries.append(summary)
    return out, summaries


def settle(state: CentreState, config: PlanningConfig,
           ) -> tuple[list[CloudEvent[Any]], list[PlanSummary]]:
    """What a whole input batch decides at this centre, once its events are applied:
    one capacity conflict per slot whose count changed (not one per arriving booking)."""
    notes = state.batch
    out = _conflict_events(state, notes) if notes.cause is not None else []
    notes.clear()
    return out, []


def _note(state: CentreState, event: CloudEvent[Any], touched: Touched) -> None:
    notes = state.batch
    notes.slots |= touched.slots
    notes.everything = notes.everything or touched.everything
    notes.cause = (event.id, event.time)


def _conflict_events(state: CentreState, notes: BatchNotes) -> list[CloudEvent[Any]]:
    assert notes.cause is not None
    cause_id, time = notes.cause
    slots = set(state.slots) if notes.everything else notes.slots
    return [
        outputs.capacity_conflict(
            cause_id,
            d.CapacityConflict(centre_id=state.centre_id, service=service, slot_start=start,
                               capacity=capacity, booked=booked),
            time,
        )
        for (service, start), capacity, booked in conflicts(state, slots)
    ]


def _plan(state: CentreState, event: CloudEvent[Any], outage_id: str, booking_ids: list[str],
          config: PlanningConfig) -> tuple[list[CloudEvent[Any]], PlanSummary]:
    plan_id = derived_id("plan", event.id, state.centre_id, outage_id)
    instance = build_instance(state, outage_id, booking_ids, event.time, config.policy,
                              config.default_slot_min)
    started = clock.perf_counter()
    plan = _valid_plan(instance, config, plan_id)
    solve_ms = round((clock.perf_counter() - started) * 1000)
    out: list[CloudEvent[Any]] = []
    for a in plan.assignments:
        booking = state.bookings[a.booking_id]
        if a.to_start is not None:
            out.append(outputs.rescheduled(plan_id, outage_id, a.booking_id, booking,
                                           state.centre_id, a, event.time))
        else:
            out.append(outputs.unplaced(plan_id, outage_id, a.booking_id, state.centre_id, a,
                                        event.time))
        note = outputs.notification(state, plan_id, a.booking_id, booking, a, event.time)
        if note is not None:
            out.append(note)
        _record(state, a.booking_id, outage_id, plan_id, a.to_start, a.reason)
    moved = sum(1 for a in plan.assignments if a.to_start is not None)
    summary = PlanSummary(plan_id, state.centre_id, outage_id, len(plan.assignments), moved,
                          len(plan.assignments) - moved, plan.cost, plan.bound, plan.status,
                          solve_ms)
    out.append(outputs.plan_completed(d.PlanCompleted(
        plan_id=plan_id, outage_id=outage_id, centre_id=state.centre_id,
        displaced=summary.displaced, moved=moved, unplaced=summary.unplaced, cost=plan.cost,
        bound=plan.bound, status=plan.status, solve_ms=solve_ms), event.time))
    if summary.unplaced:
        extra = tuple(d.ExtraPlaces(date=day, service=service, places=places)
                      for day, service, places in capacity_advice(instance, plan))
        out.append(outputs.capacity_advice(plan_id, d.CapacityAdvice(
            centre_id=state.centre_id, outage_id=outage_id, extra=extra), event.time))
    return out, summary


def _valid_plan(instance: Instance, config: PlanningConfig, plan_id: str) -> Plan:
    """The solver's plan, checked by the validator; never publish a plan that fails it."""
    plan = config.solver(instance, config.params)
    violations = validate(instance, plan)
    if not violations:
        return plan
    log.error("plan %s failed validation, using the greedy plan: %s", plan_id, violations[:5])
    fallback = greedy(instance)
    problems = validate(instance, fallback)
    if problems:
        raise AssertionError(f"greedy plan {plan_id} is invalid too: {problems[:5]}")
    return fallback


def _record(state: CentreState, booking_id: str, outage_id: str, plan_id: str,
            to_start: dt.datetime | None, reason: str) -> None:
    booking = state.bookings[booking_id]
    assert booking.slot_start is not None
    kind: Literal["moved", "unplaced"] = "moved" if to_start is not None else "unplaced"
    state.decisions[booking_id] = Decision(outage_id, plan_id, kind, booking.slot_start, reason,
                                           to_start)
    state.dirty_decisions.add(booking_id)
    if to_start is not None:
        state.set_slot(booking_id, booking, to_start)
