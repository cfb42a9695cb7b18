"""The waiting list (CONTRACT v1.1): bookings an outage left unplaced wait in the centre's
state, and every batch that adds room for their service re-plans them once.

Only the waiting move: every placed booking keeps its slot (its place counts as taken), so
nobody is moved to make room. Same hard rules and cost as the first plan, except that the
horizon is `waiting_horizon_days` after the slot. A booking placed gets reason
`from_waiting_list`; one still without a place keeps waiting, with no new message.
"""

import datetime as dt
import time as clock
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from schemas.envelope import CloudEvent
from services.scheduler.domain.decisions import decide
from services.scheduler.domain.planning import build_instance
from services.scheduler.domain.solving import PlanningConfig, valid_plan
from services.scheduler.domain.state import CentreState
from services.scheduler.solver.model import Assignment


@dataclass(frozen=True)
class Replan:
    """What one re-plan of one outage's waiting bookings did."""

    considered: int
    placed: int
    cost: int
    bound: int
    status: str
    solve_ms: int


def to_replan(state: CentreState, room: set[str | None]) -> dict[str, list[str]]:
    """The waiting bookings of the services that gained room (with the rest of their
    family, planned as one), by the outage that left them waiting."""
    chosen = {b for b in state.waiting
              if None in room or state.bookings[b].service in room}
    families = {state.bookings[b].group_id for b in chosen} - {None}
    if families:
        chosen |= {b for b in state.waiting if state.bookings[b].group_id in families}
    by_outage: dict[str, list[str]] = defaultdict(list)
    for booking_id in sorted(chosen):
        by_outage[state.decisions[booking_id].outage_id].append(booking_id)
    return dict(sorted(by_outage.items()))


def replan(state: CentreState, outage_id: str, booking_ids: list[str], plan_id: str,
           time: dt.datetime, config: PlanningConfig) -> tuple[list[CloudEvent[Any]], Replan]:
    """Place what can be placed now; the decision's clock is the outage's (CONTRACT v1.1)."""
    now = state.outages[outage_id].clock(time)
    instance = build_instance(state, outage_id, booking_ids, now, config.waiting_policy(),
                              config.default_slot_min)
    started = clock.perf_counter()
    plan = valid_plan(instance, config, plan_id)
    solve_ms = round((clock.perf_counter() - started) * 1000)
    out: list[CloudEvent[Any]] = []
    placed = [a for a in plan.assignments if a.to_start is not None]
    for a in placed:
        chosen = Assignment(booking_id=a.booking_id, to_start=a.to_start,
                            reason="from_waiting_list")
        out += decide(state, plan_id, outage_id, chosen, time, config.replies,
                      held=config.replies.in_review(state.centre_id))
    state.tally.placed_from_waiting += len(placed)
    state.dirty_tally = state.dirty_tally or bool(placed)
    return out, Replan(len(booking_ids), len(placed), plan.cost, plan.bound, plan.status,
                       solve_ms)
