"""Applicants' replies to offers (CONTRACT v1.1, Replies), folded at their centre.

One rule per reply type; each records its outcome (accepted, or refused with the reason)
for the reply page, and a refused reply changes nothing but says why on
visa.reschedules.v1 (visa.offer.refused.v1). One effect per offer: an offer answered once
refuses every later answer (`already_answered`); the same reply event folded again (a
double click, a retry, a replay) is skipped by its id before it gets here (inputs.py).
"""

import datetime as dt
from typing import Any, Literal

from schemas import replies as r
from schemas.envelope import CloudEvent
from schemas.reasons import RefusalReason
from services.common.ids import derived_id
from services.scheduler.domain import outputs
from services.scheduler.domain.decisions import decide
from services.scheduler.domain.family_choice import family, why_not
from services.scheduler.domain.offers import OfferRec, Outcome
from services.scheduler.domain.solving import PlanningConfig
from services.scheduler.domain.state import CentreState, SlotKey
from services.scheduler.solver.model import Assignment

Events = list[CloudEvent[Any]]
Reply = r.OfferConfirmed | r.OfferDeclined | r.OfferChanged


def standing(state: CentreState, data: Reply) -> OfferRec | RefusalReason:
    """The open offer a reply answers, or why it answers none."""
    offer = state.replies.offers.get(data.booking_id)
    if offer is not None and offer.offer_id == data.offer_id:
        if offer.held:
            return "not_offered"  # its plan awaits review: nobody was told of it yet
        return offer if offer.state == "open" else "already_answered"
    if offer is not None and offer.answers == data.offer_id:
        return "already_answered"  # the applicant changed it: a new offer replaced it
    if offer is not None or data.booking_id in state.decisions:
        return "superseded"  # a later decision replaced it
    return "not_offered"


def confirmed(state: CentreState, event: CloudEvent[Any], _: PlanningConfig,
              ) -> tuple[Events, set[SlotKey]]:
    data: r.OfferConfirmed = event.data
    offer = standing(state, data)
    if not isinstance(offer, OfferRec):
        return refuse(state, event, data, offer), set()
    offer.answer("confirmed", data.channel, event.time, event.id)
    state.replies.touch(data.booking_id)
    accept(state, event, data.offer_id, booking_id=data.booking_id)
    return [], set()


def declined(state: CentreState, event: CloudEvent[Any], _: PlanningConfig,
             ) -> tuple[Events, set[SlotKey]]:
    """call_me: the call list shows it; cancel: the booking is cancelled and its place
    feeds the waiting list."""
    data: r.OfferDeclined = event.data
    offer = standing(state, data)
    if not isinstance(offer, OfferRec):
        return refuse(state, event, data, offer), set()
    offer.answer("declined", data.channel, event.time, event.id, data.wants)
    state.replies.touch(data.booking_id)
    accept(state, event, data.offer_id, booking_id=data.booking_id)
    if data.wants == "call_me":
        return [], set()
    booking = state.bookings[data.booking_id]
    assert booking.slot_start is not None
    slot = (booking.service, booking.slot_start)
    state.set_status(data.booking_id, booking, "cancelled")
    state.batch.add_room(booking.service, "reply")
    return [outputs.appointment_cancelled(event.id, r.AppointmentCancelled(
        booking_id=data.booking_id, centre_id=state.centre_id, reason="applicant_declined"),
        event.time)], {slot}


def changed(state: CentreState, event: CloudEvent[Any], config: PlanningConfig,
            ) -> tuple[Events, set[SlotKey]]:
    """The whole family into the chosen slot if every hard rule holds now; otherwise
    refused `slot_taken` with the rule, and the previous offer stands."""
    data: r.OfferChanged = event.data
    offer = standing(state, data)
    if not isinstance(offer, OfferRec):
        return refuse(state, event, data, offer), set()
    why = why_not(state, data.booking_id, data.slot_start, event.time, config)
    if why is not None:
        return refuse(state, event, data, "slot_taken", why), set()
    out, slots = move_family(state, event, data.booking_id, data.slot_start,
                             "applicant_choice", config)
    for member in family(state, data.booking_id):  # chosen: nothing left to answer
        state.replies.offers[member].answer("confirmed", data.channel, event.time, event.id)
    state.replies.offers[data.booking_id].answers = data.offer_id  # a second reply to it
    accept(state, event, data.offer_id, booking_id=data.booking_id)
    return out, slots


def move_family(state: CentreState, event: CloudEvent[Any], booking_id: str,
                start: dt.datetime, reason: Literal["applicant_choice", "ops_override"],
                config: PlanningConfig,
                ) -> tuple[Events, set[SlotKey]]:
    """Decide the family's move into `start` (a plan of its own, id derived from the
    event); the places it leaves feed the waiting list."""
    chosen = reason == "applicant_choice"
    plan_id = derived_id("choice" if chosen else "pin", event.id)
    outage_id = state.decisions[booking_id].outage_id
    to_start = start.astimezone(dt.UTC)
    out: Events = []
    slots: set[SlotKey] = set()
    for member in family(state, booking_id):
        booking = state.bookings[member]
        assert booking.slot_start is not None
        slots |= {(booking.service, booking.slot_start), (booking.service, to_start)}
        if booking.slot_start != to_start:
            state.batch.add_room(booking.service, "reply" if chosen else "capacity")
        own = state.decisions.get(member)
        a = Assignment(booking_id=member, to_start=to_start, reason=reason)
        out += decide(state, plan_id, own.outage_id if own else outage_id, a, event.time,
                      config.replies)
    return out, slots


def accept(state: CentreState, event: CloudEvent[Any], subject: str, detail: str = "",
           booking_id: str | None = None) -> None:
    state.replies.record(Outcome(event.id, subject, "accepted", "", detail, event.time,
                                 kept_with(state, booking_id)))


def kept_with(state: CentreState, booking_id: str | None) -> str | None:
    """The booking an outcome is kept with (retirement.py): one of this centre's."""
    return booking_id if booking_id in state.bookings else None


def refuse(state: CentreState, event: CloudEvent[Any], data: Reply, reason: RefusalReason,
           detail: str = "") -> Events:
    """The outcome, and visa.offer.refused.v1 for whoever sent the reply (none for the
    scheduler's own timeout answer: nobody waits for it)."""
    detail = detail or _DETAILS[reason]
    state.replies.record(Outcome(event.id, data.offer_id, "refused", reason, detail,
                                 event.time, kept_with(state, data.booking_id)))
    if data.channel == "timeout":
        return []
    return [outputs.offer_refused(event.id, r.OfferRefused(
        offer_id=data.offer_id, reason=reason, booking_id=data.booking_id,
        centre_id=state.centre_id, detail=detail), event.time)]


_DETAILS: dict[str, str] = {
    "superseded": "a later decision replaced this offer",
    "already_answered": "this offer was answered already",
    "not_offered": "no such offer stands for this booking",
    "slot_taken": "the slot is no longer free",
    "breaks_rule": "the slot breaks a rule",
}
