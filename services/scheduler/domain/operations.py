"""Operators' acts from the console (CONTRACT v1.1, Review and the call list), folded at
their centre: approving a plan held for review, pinning a booking, logging a call.

Each records its outcome for the console (subject: the plan or the booking), like a reply.
"""

import dataclasses
import datetime as dt
from typing import Any

from schemas import replies as r
from schemas.envelope import CloudEvent
from schemas.reasons import RefusalReason
from services.scheduler.domain import outputs
from services.scheduler.domain.answers import Events, accept, kept_with, move_family
from services.scheduler.domain.family_choice import why_not
from services.scheduler.domain.offers import Call, Outcome, ReplyPolicy
from services.scheduler.domain.solving import PlanningConfig
from services.scheduler.domain.state import CentreState, SlotKey


def approved(state: CentreState, event: CloudEvent[Any], config: PlanningConfig,
             ) -> tuple[Events, set[SlotKey]]:
    """A held plan's messages go out (the ids they would have had) and its offers count
    from now: reply_by from the approval's time."""
    data: r.PlanApproved = event.data
    summary = state.replies.held_plans.pop(data.plan_id, None)
    if summary is None:
        _refuse(state, event, data.plan_id, "not_offered",
                "no plan of this centre awaits approval under this id")
        return [], set()
    out = release(state, data.plan_id, event.time, config.replies)
    state.replies.plans.append(dataclasses.replace(summary, held=False, approved_by=data.by))
    accept(state, event, data.plan_id, f"{len(out)} message(s) released")
    return out, set()


def release(state: CentreState, plan_id: str, at: dt.datetime,
            replies: ReplyPolicy) -> Events:
    """The held messages of `plan_id`'s standing decisions; its offers open from `at`."""
    for booking_id, offer in state.replies.offers.items():
        if offer.plan_id == plan_id and offer.held:
            offer.held, offer.reply_by = False, replies.reply_by(at, offer.to_start)
            state.replies.touch(booking_id)
    out: Events = []
    held = sorted(b for b, note in state.replies.held.items() if note.plan_id == plan_id)
    for booking_id in held:
        note = state.replies.release(booking_id)
        assert note is not None
        assert state.info is not None
        standing = state.replies.offers.get(booking_id)
        extra = replies.variables(standing, state.info.timezone) \
            if standing is not None and standing.plan_id == plan_id else {}
        data = note.data.model_copy(update={"variables": {**note.data.variables, **extra}})
        out.append(outputs.requested(data, at))
    return out


def pinned(state: CentreState, event: CloudEvent[Any], config: PlanningConfig,
           ) -> tuple[Events, set[SlotKey]]:
    """A displaced or waiting booking (with its family) into the operator's slot, if every
    hard rule holds; reason ops_override, messages as usual."""
    data: r.BookingPinned = event.data
    booking = state.bookings.get(data.booking_id)
    decision = state.decisions.get(data.booking_id)
    if (booking is None or not booking.active or decision is None
            or decision.kind == "restored" or not decision.holds(booking.slot_start)):
        return _refuse(state, event, data.booking_id, "not_offered",
                       "the booking is neither displaced nor waiting"), set()
    why = why_not(state, data.booking_id, data.slot_start, event.time, config)
    if why is not None:
        return _refuse(state, event, data.booking_id, "breaks_rule", why), set()
    out, slots = move_family(state, event, data.booking_id, data.slot_start, "ops_override",
                             config)
    accept(state, event, data.booking_id, booking_id=data.booking_id)
    return out, slots


def call_logged(state: CentreState, event: CloudEvent[Any], _: PlanningConfig,
                ) -> tuple[Events, set[SlotKey]]:
    data: r.CallLogged = event.data
    if data.booking_id not in state.bookings:
        _refuse(state, event, data.booking_id, "not_offered", "no such booking at this centre")
        return [], set()
    state.replies.calls.append(Call(data.booking_id, event.id, event.time, data.by,
                                    data.outcome, data.note))
    accept(state, event, data.booking_id, booking_id=data.booking_id)
    return [], set()


def _refuse(state: CentreState, event: CloudEvent[Any], subject: str,
            reason: RefusalReason, detail: str) -> Events:
    """The outcome; for a pin, visa.offer.refused.v1 too (offer id: the pin event's id)."""
    booking = None if isinstance(event.data, r.PlanApproved) else subject  # else a plan id
    state.replies.record(Outcome(event.id, subject, "refused", reason, detail, event.time,
                                 kept_with(state, booking)))
    if not isinstance(event.data, r.BookingPinned):
        return []
    return [outputs.offer_refused(event.id, r.OfferRefused(
        offer_id=event.id, reason=reason, booking_id=subject, centre_id=state.centre_id,
        detail=detail), event.time)]
