"""One input event at one centre: fold it, then decide for every booking it displaced;
once per batch (settle), what the whole batch decides at the centre. Replies and
operators' acts are answered by their own rules (answers.py, operations.py).

Pure apart from the solver's clock: the same state and events give the same output events.
"""

import time as clock
from collections.abc import Callable
from typing import Any

from schemas import data as d
from schemas import replies as r
from schemas.envelope import CloudEvent
from schemas.reasons import PlanTrigger
from services.common.ids import derived_id
from services.scheduler.domain import answers, operations, outputs
from services.scheduler.domain.advising import advice_events
from services.scheduler.domain.decisions import decide
from services.scheduler.domain.displacement import conflicts, displaced
from services.scheduler.domain.fold import Touched, apply, room_noted
from services.scheduler.domain.living import restore_now, settle_calendar
from services.scheduler.domain.offers import folded_cut, forget_folded
from services.scheduler.domain.planning import build_instance
from services.scheduler.domain.solving import PlanningConfig, Solver, valid_plan
from services.scheduler.domain.state import BatchNotes, CentreState, PlanSummary, SlotKey

__all__ = ["PlanningConfig", "Solver", "process", "settle"]

FORGET_EVERY = 1024  # folded ids between two looks for those past ReplyPolicy.dedupe_days

Answer = Callable[[CentreState, CloudEvent[Any], PlanningConfig],
                  tuple[list[CloudEvent[Any]], set[SlotKey]]]
_ANSWERS: dict[type[Any], Answer] = {
    r.OfferConfirmed: answers.confirmed,
    r.OfferDeclined: answers.declined,
    r.OfferChanged: answers.changed,
    r.PlanApproved: operations.approved,
    r.BookingPinned: operations.pinned,
    r.CallLogged: operations.call_logged,
}


def process(state: CentreState, event: CloudEvent[Any], config: PlanningConfig,
            ) -> tuple[list[CloudEvent[Any]], list[PlanSummary]]:
    """Apply `event` to `state` (in place) and return the output events it causes now;
    what is decided once per batch waits for `settle`."""
    answer = _ANSWERS.get(type(event.data))
    if answer is not None:
        return _answer(state, event, answer, config), []
    touched = apply(state, event)
    _note(state, event, touched)
    if state.event_clock is None or event.time > state.event_clock:
        state.event_clock = event.time  # the booking system's clock here (retirement.py)
    out = restore_now(state, config, event.time)  # before anyone is moved once more
    summaries = []
    for outage_id, booking_ids in displaced(state, touched, config.default_slot_min).items():
        plan_events, summary = _plan(state, event, outage_id, booking_ids, config)
        out += plan_events
        summaries.append(summary)
    return out, summaries


def settle(state: CentreState, config: PlanningConfig,
           ) -> tuple[list[CloudEvent[Any]], list[PlanSummary]]:
    """What a whole input batch decides at this centre, once its events are applied:
    restores and the waiting list's re-plan (living.py), a new capacity advice if the
    waiting list changed, one capacity conflict per slot whose count changed."""
    notes = state.batch
    if notes.cause is None:
        notes.clear()
        return [], []
    out, summaries = settle_calendar(state, config)
    out += advice_events(state, notes.cause, config.advice_day_share)
    out += _conflict_events(state, notes)
    notes.clear()
    return out, summaries


def _answer(state: CentreState, event: CloudEvent[Any], answer: Answer,
            config: PlanningConfig) -> list[CloudEvent[Any]]:
    """A reply or an operator's act: once per event id (a double click, a retry or a
    replay publishes the same id, and changes nothing more)."""
    _note(state, event, Touched())
    folded = state.replies.folded
    if event.id in folded:
        return []
    folded[event.id] = event.time
    if len(folded) % FORGET_EVERY == 0:  # a scan now and then: amortised, nothing per event
        cut = folded_cut(folded, FORGET_EVERY // 2, config.replies.dedupe_days)
        if cut is not None:
            forget_folded(folded, cut)
    state.batch.pending = None
    out, slots = answer(state, event, config)
    state.batch.slots |= slots
    room_noted(state, event)
    return out


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
    """The plan for the bookings `outage_id` displaces now. Notice counts from the
    decision's clock (CONTRACT v1.1), not from the time of whichever event came last."""
    plan_id = derived_id("plan", event.id, state.centre_id, outage_id)
    now = state.outages[outage_id].clock(event.time)
    instance = build_instance(state, outage_id, booking_ids, now, config.policy,
                              config.default_slot_min)
    started = clock.perf_counter()
    plan = valid_plan(instance, config, plan_id)
    solve_ms = round((clock.perf_counter() - started) * 1000)
    out: list[CloudEvent[Any]] = []
    held = config.replies.in_review(state.centre_id)
    for a in plan.assignments:
        out += decide(state, plan_id, outage_id, a, event.time, config.replies, held=held)
    moved = sum(1 for a in plan.assignments if a.to_start is not None)
    trigger: PlanTrigger = "revision" if isinstance(event.data, d.OutageRevised) else "outage"
    summary = PlanSummary(plan_id, state.centre_id, outage_id, len(plan.assignments), moved,
                          len(plan.assignments) - moved, plan.cost, plan.bound, plan.status,
                          solve_ms, trigger, held=held)
    out.append(outputs.plan_completed(d.PlanCompleted(
        plan_id=plan_id, outage_id=outage_id, centre_id=state.centre_id,
        displaced=summary.displaced, moved=moved, unplaced=summary.unplaced, cost=plan.cost,
        bound=plan.bound, status=plan.status, solve_ms=solve_ms, trigger=trigger, held=held),
        event.time))
    if held:
        state.replies.held_plans[plan_id] = summary
    return out, summary
