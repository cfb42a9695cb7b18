"""Recording a decision for a booking, and the events that tell it (one place for both).

Every decision (first plan, move again, waiting list, restore; later replies) goes through
`decide`, so each keeps what the next one needs: the booking's original slot (a booking
moved twice keeps its first one) and its last notification id, which the next message
supersedes (CONTRACT v1.1, superseded messages).
"""

import datetime as dt
from typing import Any

from schemas.envelope import CloudEvent
from services.scheduler.domain import outputs
from services.scheduler.domain.state import CentreState, Decision, DecisionKind
from services.scheduler.solver.model import Assignment


def decide(state: CentreState, plan_id: str, outage_id: str, a: Assignment,
           time: dt.datetime, kind: DecisionKind | None = None) -> list[CloudEvent[Any]]:
    """The decision's events (rescheduled or unplaced, and the applicant's message), and
    the state updated: the decision stored, the booking in its new slot, the waiting list."""
    booking = state.bookings[a.booking_id]
    assert booking.slot_start is not None
    before = state.decisions.get(a.booking_id)
    out = [
        outputs.rescheduled(plan_id, outage_id, a.booking_id, booking, state.centre_id, a, time)
        if a.to_start is not None else
        outputs.unplaced(plan_id, outage_id, a.booking_id, state.centre_id, a, time)
    ]
    supersedes = (before.notification_id,) if before and before.notification_id else ()
    note = outputs.notification(state, plan_id, a.booking_id, booking, a, time, supersedes)
    if note is not None:
        out.append(note)
    standing = before is not None and before.holds(booking.slot_start)
    original = before.original if before is not None and standing else booking.slot_start
    kind = kind or ("moved" if a.to_start is not None else "unplaced")
    state.decisions[a.booking_id] = Decision(
        outage_id, plan_id, kind, booking.slot_start, a.reason, a.to_start, original,
        note.data.notification_id if note is not None else None)
    state.dirty_decisions.add(a.booking_id)
    if a.to_start is not None and a.to_start != booking.slot_start:
        state.set_slot(a.booking_id, booking, a.to_start)
    elif a.to_start is not None or kind == "restored":
        state.leave_waiting(a.booking_id)  # placed where it is: waits no more
        state.dirty_bookings.add(a.booking_id)
    else:
        state.join_waiting(a.booking_id)
    return out
