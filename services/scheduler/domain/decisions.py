"""Recording a decision for a booking, and the events that tell it (one place for both).

Every decision (first plan, move again, waiting list, restore, an applicant's choice, an
operator's pin) goes through `decide`, so each keeps what the next one needs: the booking's
original slot (a booking moved twice keeps its first one), its last notification id, which
the next message supersedes (CONTRACT v1.1, superseded messages), and its offer: a move is
an offer the applicant may answer until `reply_by`. A decision of a plan held for review
(`held`) is applied and published, but its message waits for the approval (approval.py).
"""

import datetime as dt
from typing import Any

from schemas.envelope import CloudEvent
from services.scheduler.domain import outputs
from services.scheduler.domain.offers import HeldNote, OfferRec, ReplyPolicy
from services.scheduler.domain.state import CentreState, Decision, DecisionKind
from services.scheduler.solver.model import Assignment


def decide(state: CentreState, plan_id: str, outage_id: str, a: Assignment,
           time: dt.datetime, replies: ReplyPolicy, kind: DecisionKind | None = None,
           held: bool = False) -> list[CloudEvent[Any]]:
    """The decision's events (rescheduled or unplaced, and the applicant's message unless
    held), and the state updated: the decision stored, the booking in its new slot, the
    waiting list, the booking's offer."""
    booking = state.bookings[a.booking_id]
    assert booking.slot_start is not None
    before = state.decisions.get(a.booking_id)
    offer = _offer(state, plan_id, outage_id, a, time, replies, held)
    out = [
        outputs.rescheduled(plan_id, outage_id, a.booking_id, booking, state.centre_id, a,
                            time, offer.reply_by)
        if offer is not None else
        outputs.unplaced(plan_id, outage_id, a.booking_id, state.centre_id, a, time)
    ]
    note = outputs.notification(
        state, plan_id, a.booking_id, booking, a, time, _supersedes(state, a.booking_id),
        replies.variables(offer, state.info.timezone) if offer and state.info else None)
    if note is not None and held:
        state.replies.hold(a.booking_id, HeldNote(plan_id, note.data))
    elif note is not None:
        out.append(note)
    standing = before is not None and before.holds(booking.slot_start)
    original = before.original if before is not None and standing else booking.slot_start
    kind = kind or ("moved" if a.to_start is not None else "unplaced")
    state.decisions[a.booking_id] = Decision(
        outage_id, plan_id, kind, booking.slot_start, a.reason, a.to_start, original,
        note.data.notification_id if note is not None else None, time.astimezone(dt.UTC))
    state.dirty_decisions.add(a.booking_id)
    if a.to_start is not None and a.to_start != booking.slot_start:
        state.set_slot(a.booking_id, booking, a.to_start)
    elif a.to_start is not None or kind == "restored":
        state.leave_waiting(a.booking_id)  # placed where it is: waits no more
        state.dirty_bookings.add(a.booking_id)
    else:
        state.join_waiting(a.booking_id)
    return out


def _offer(state: CentreState, plan_id: str, outage_id: str, a: Assignment,
           time: dt.datetime, replies: ReplyPolicy, held: bool) -> OfferRec | None:
    """The offer a move makes (it replaces the booking's previous one); a booking left
    unplaced has none, and its previous offer no longer stands."""
    booking = state.bookings[a.booking_id]
    assert booking.slot_start is not None
    if a.to_start is None:
        state.replies.drop(a.booking_id)
        return None
    offer = OfferRec(
        outputs.offer_id(plan_id, a.booking_id), plan_id, outage_id, booking.slot_start,
        a.to_start, None if held else replies.reply_by(time, a.to_start), held,
        booking.applicant.phone if booking.applicant is not None else None)
    state.replies.offer(a.booking_id, offer)
    return offer


def _supersedes(state: CentreState, booking_id: str) -> tuple[str, ...]:
    """The messages the next one replaces: the last one sent; for a message that was held
    and never sent, what that one replaced."""
    held = state.replies.release(booking_id)
    if held is not None:
        return held.data.supersedes
    before = state.decisions.get(booking_id)
    return (before.notification_id,) if before and before.notification_id else ()
