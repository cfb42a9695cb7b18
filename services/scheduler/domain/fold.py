"""The projection: apply one input event to a centre's state.

Events reach a centre in any order across topics, so every case has a defined outcome:
- a booking before its slots: kept; its slot's capacity is unknown until published;
- a cancellation or move of an unknown booking: remembered, applied when it is created
  (a booking cancelled before it was created stays cancelled);
- a withdrawn slot: capacity 0, so bookings left in it show as a capacity conflict;
- an outage lifted before it was declared: remembered; the later declaration stays lifted;
- a revision of an unknown outage acts as its declaration.
`apply` returns what it touched, so the caller checks only those for displacement. An
event that frees places (slots published or raised, a booking cancelled or moved away, an
outage shortened or lifted) notes it in the batch notes, for settle() to re-plan the
waiting list and to restore bookings whose original slot stands again. A booking the
booking system cancels or moves elsewhere has no offer left to answer (offers.py).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from schemas import data as d
from schemas.envelope import CloudEvent
from schemas.reasons import PlanTrigger
from services.scheduler.domain.state import (
    BookingRec,
    BookingStatus,
    CentreState,
    OutageRec,
    SlotKey,
    SlotRec,
)


@dataclass(slots=True)
class Touched:
    bookings: set[str] = field(default_factory=set)
    slots: set[SlotKey] = field(default_factory=set)
    everything: bool = False  # centre or outage changed: look at every booking


def apply(state: CentreState, event: CloudEvent[Any]) -> Touched:
    handler = _HANDLERS[type(event.data)]
    notes = state.batch
    notes.pending, notes.reopened = None, False
    touched: Touched = handler(state, event.data, event.time)
    room_noted(state, event)
    return touched


def room_noted(state: CentreState, event: CloudEvent[Any]) -> None:
    """If `event` added room (add_room), it causes the batch's re-plan of the waiting."""
    notes = state.batch
    if notes.pending is not None:
        notes.trigger, notes.room_time = notes.pending, event.time
        notes.plan_cause = notes.plan_cause or event.id
        notes.pending = None


def _centre(state: CentreState, data: d.CentreRegistered, _: dt.datetime) -> Touched:
    state.info = data
    state.dirty_info = True
    return Touched(everything=True)  # decisions deferred for an unknown centre can now be made


def _slots_published(state: CentreState, data: d.SlotsPublished, _: dt.datetime) -> Touched:
    touched = Touched()
    for spec in data.slots:
        key = (data.service, spec.start.astimezone(dt.UTC))
        known = state.slots.get(key)
        if spec.capacity > (known.capacity if known is not None else 0):
            state.batch.add_room(data.service, "capacity")
        state.slots[key] = SlotRec(spec.duration_min, spec.capacity)
        state.dirty_slots.add(key)
        touched.slots.add(key)
    touched.bookings = _bookings_in(state, touched.slots)
    return touched


def _slots_withdrawn(state: CentreState, data: d.SlotsWithdrawn, _: dt.datetime) -> Touched:
    touched = Touched()
    for start in data.starts:
        key = (data.service, start.astimezone(dt.UTC))
        known = state.slots.get(key)
        state.slots[key] = SlotRec(known.duration_min if known else 0, 0)
        state.dirty_slots.add(key)
        touched.slots.add(key)
    return touched


def _booking_created(state: CentreState, data: d.BookingCreated, _: dt.datetime) -> Touched:
    known = state.bookings.get(data.booking_id)
    if known is not None and known.applicant is not None:
        return Touched()  # a duplicate: the first creation stands
    start = data.slot_start.astimezone(dt.UTC)
    if known is not None and known.status == "unknown" and known.slot_start is not None:
        start = known.slot_start  # it was moved before we heard of its creation
    status: BookingStatus = (
        "cancelled" if known is not None and known.status == "cancelled" else "active"
    )
    state.add_booking(data.booking_id, BookingRec(
        status, data.service, start, data.group_id, data.category, data.travel_date,
        data.applicant))
    return Touched(bookings={data.booking_id}, slots={(data.service, start)})


def _booking_cancelled(state: CentreState, data: d.BookingCancelled, _: dt.datetime) -> Touched:
    booking = state.bookings.get(data.booking_id)
    if booking is None:
        state.bookings[data.booking_id] = BookingRec(status="cancelled")
        state.dirty_bookings.add(data.booking_id)
        return Touched()
    slot = (booking.service, booking.slot_start) if booking.slot_start else None
    if booking.active:
        state.batch.add_room(booking.service, "capacity")
        state.replies.drop(data.booking_id)  # nothing left to answer
    state.set_status(data.booking_id, booking, "cancelled")
    return Touched(slots={slot} if slot else set())


def _booking_moved(state: CentreState, data: d.BookingMoved, _: dt.datetime) -> Touched:
    start = data.slot_start.astimezone(dt.UTC)
    booking = state.bookings.get(data.booking_id)
    if booking is None:
        state.bookings[data.booking_id] = BookingRec(status="unknown", slot_start=start)
        state.dirty_bookings.add(data.booking_id)
        return Touched()
    if booking.status == "cancelled":
        return Touched()
    old = (booking.service, booking.slot_start) if booking.slot_start else None
    if booking.active and booking.slot_start != start:
        state.batch.add_room(booking.service, "capacity")  # its old place is free
        state.replies.drop(data.booking_id)  # moved elsewhere: the offer no longer stands
    state.set_slot(data.booking_id, booking, start)
    slots = {(booking.service, start)} | ({old} if old else set())
    return Touched(bookings={data.booking_id}, slots=slots)


def _outage_declared(state: CentreState, data: d.OutageDeclared, time: dt.datetime) -> Touched:
    if state.centre_id not in data.centre_ids:
        return Touched()  # routed here by mistake: not this centre's outage
    known = state.outages.get(data.outage_id)
    if known is not None and not known.active:
        return Touched()  # lifted before (or after) this declaration: stays lifted
    state.outages[data.outage_id] = OutageRec(
        start=data.start.astimezone(dt.UTC),
        end=data.end.astimezone(dt.UTC),
        services=data.services,
        notice_min=data.notice_min,
        announced=time.astimezone(dt.UTC),
        active=True,
        reason=data.reason,
    )
    state.dirty_outages.add(data.outage_id)
    return Touched(everything=True)


def _outage_revised(state: CentreState, data: d.OutageRevised, time: dt.datetime) -> Touched:
    known = state.outages.get(data.outage_id)
    at = time.astimezone(dt.UTC)
    if known is None:  # the router sends the declaration first; a lone revision declares
        known = OutageRec(data.start, data.end, data.services, 1440, at, active=True)
        state.outages[data.outage_id] = known
    elif not known.active:
        return Touched()
    else:  # what it stopped may run again (a shorter window, fewer services)
        _reopen(state, known, "revision")
    known.start, known.end = data.start.astimezone(dt.UTC), data.end.astimezone(dt.UTC)
    known.revised = at if known.revised is None else max(known.revised, at)
    if data.services is not None:
        known.services = data.services
    if data.centre_ids is not None and state.centre_id not in data.centre_ids:
        known.active = False  # the revision no longer names this centre
    state.dirty_outages.add(data.outage_id)
    return Touched(everything=True)


def _outage_lifted(state: CentreState, data: d.OutageLifted, time: dt.datetime) -> Touched:
    known = state.outages.get(data.outage_id)
    if known is None:
        at = time.astimezone(dt.UTC)
        state.outages[data.outage_id] = OutageRec(at, at, None, 0, at, active=False)
    elif known.active:
        known.active = False
        _reopen(state, known, "lift")
    state.dirty_outages.add(data.outage_id)
    return Touched()  # settle() restores and re-plans the bookings it displaced


def _reopen(state: CentreState, outage: OutageRec, trigger: PlanTrigger) -> None:
    """An outage lifted or revised: its displaced bookings may go back (restore) and the
    places it held may seat the waiting."""
    notes = state.batch
    notes.reopened = True
    for service in outage.services if outage.services is not None else (None,):
        notes.add_room(service, trigger)


def _bookings_in(state: CentreState, slots: set[SlotKey]) -> set[str]:
    return {
        booking_id
        for booking_id, b in state.bookings.items()
        if b.active and (b.service, b.slot_start) in slots
    }


_HANDLERS: dict[type[Any], Any] = {
    d.CentreRegistered: _centre,
    d.SlotsPublished: _slots_published,
    d.SlotsWithdrawn: _slots_withdrawn,
    d.BookingCreated: _booking_created,
    d.BookingCancelled: _booking_cancelled,
    d.BookingMoved: _booking_moved,
    d.OutageDeclared: _outage_declared,
    d.OutageRevised: _outage_revised,
    d.OutageLifted: _outage_lifted,
}
