"""The living calendar's decisions at one centre, around the first plans of process().

1. Restore (per event, before displacement: a booking whose original slot stands again
   goes back rather than being moved once more): an outage lifted or shrunk; bookings
   whose original slot is clear, has room and is far enough off go back (restore.py).
2. Once per batch (settle): re-plan the waiting list if the batch added room for their
   service (waiting.py); places freed by restored bookings count as room too.
3. One `visa.plan.completed.v1` per outage whose bookings were decided so (a re-plan
   that placed nobody publishes nothing), with the trigger of the batch (lift,
   revision, capacity, reply).

Ids derive from the batch's first event at the centre that added room, and the outage;
the decisions' clock from the latest: the same input in the same batches gives the same
events.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas import data as d
from schemas.envelope import CloudEvent
from schemas.reasons import PlanTrigger
from services.common.ids import derived_id
from services.scheduler.domain import outputs
from services.scheduler.domain.decisions import decide
from services.scheduler.domain.restore import restorable
from services.scheduler.domain.solving import PlanningConfig
from services.scheduler.domain.state import CentreState, PlanSummary
from services.scheduler.domain.waiting import Replan, replan, to_replan
from services.scheduler.solver.model import Assignment


@dataclass
class _Outcome:
    restored: int = 0
    replan: Replan | None = None


def restore_now(state: CentreState, config: PlanningConfig,
                time: dt.datetime) -> list[CloudEvent[Any]]:
    """After an event that lifted or shrank an outage (at `time`): the restores it allows."""
    notes = state.batch
    if state.info is None or not notes.reopened or notes.plan_cause is None:
        return []
    out: list[CloudEvent[Any]] = []
    for r in restorable(state, time.astimezone(dt.UTC), config.restore_notice_min,
                        config.default_slot_min):
        booking = state.bookings[r.booking_id]
        if r.booking_id not in state.waiting:
            notes.room.add(booking.service)  # the place it leaves may seat the waiting
        back = Assignment(booking_id=r.booking_id, to_start=r.original, reason="restored")
        out += decide(state, _plan_id(state, notes.plan_cause, r.outage_id), r.outage_id,
                      back, time, config.replies, kind="restored",
                      held=config.replies.in_review(state.centre_id))
        notes.restored[r.outage_id] = notes.restored.get(r.outage_id, 0) + 1
        state.tally.restored += 1
        state.dirty_tally = True
    return out


def settle_calendar(state: CentreState, config: PlanningConfig,
                    ) -> tuple[list[CloudEvent[Any]], list[PlanSummary]]:
    """The batch's re-plan of the waiting list, and the plans of it and of the restores."""
    notes = state.batch
    if state.info is None or notes.plan_cause is None or notes.room_time is None:
        return [], []
    cause_id, time = notes.plan_cause, notes.room_time
    out: list[CloudEvent[Any]] = []
    outcomes = {o: _Outcome(restored=n) for o, n in notes.restored.items()}
    if state.waiting and notes.room:
        for outage_id, booking_ids in to_replan(state, notes.room).items():
            events, done = replan(state, outage_id, booking_ids,
                                  _plan_id(state, cause_id, outage_id), time, config)
            out += events
            outcomes.setdefault(outage_id, _Outcome()).replan = done
    held = config.replies.in_review(state.centre_id)
    summaries = [_summary(state, _plan_id(state, cause_id, o), o, outcome, notes.trigger, held)
                 for o, outcome in sorted(outcomes.items()) if _decided(outcome)]
    out += [_completed(s, time) for s in summaries]
    if held:
        state.replies.held_plans.update((s.plan_id, s) for s in summaries)
    return out, summaries


def _decided(outcome: _Outcome) -> bool:
    """A re-plan that placed and restored nobody decided nothing: no plan to publish (room
    far off, or too little of it, would otherwise add an empty plan per batch)."""
    return outcome.restored > 0 or (outcome.replan is not None and outcome.replan.placed > 0)


def _plan_id(state: CentreState, cause_id: str, outage_id: str) -> str:
    return derived_id("replan", cause_id, state.centre_id, outage_id)


def _summary(state: CentreState, plan_id: str, outage_id: str, outcome: _Outcome,
             trigger: PlanTrigger, held: bool) -> PlanSummary:
    r = outcome.replan or Replan(0, 0, 0, 0, "optimal", 0)
    return PlanSummary(
        plan_id, state.centre_id, outage_id, displaced=outcome.restored + r.considered,
        moved=outcome.restored + r.placed, unplaced=r.considered - r.placed, cost=r.cost,
        bound=r.bound, status=r.status, solve_ms=r.solve_ms, trigger=trigger,
        restored=outcome.restored, from_waiting=r.placed, held=held)


def _completed(s: PlanSummary, time: dt.datetime) -> CloudEvent[Any]:
    return outputs.plan_completed(d.PlanCompleted(
        plan_id=s.plan_id, outage_id=s.outage_id, centre_id=s.centre_id,
        displaced=s.displaced, moved=s.moved, unplaced=s.unplaced, cost=s.cost, bound=s.bound,
        status="optimal" if s.status == "optimal" else "feasible", solve_ms=s.solve_ms,
        trigger=s.trigger, held=s.held), time)
