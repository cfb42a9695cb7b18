"""Output events of CONTRACT.md, with ids derived (uuid5) from what caused them.

The same input always yields the same plan id, decision ids and notification ids, so a
replay after a crash re-publishes identical events that consumers dedupe by id.
"""

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

from schemas import data as d
from schemas import events as e
from schemas import replies as r
from schemas.envelope import CloudEvent
from schemas.events import event_type_of
from schemas.reasons import is_moved, is_unplaced
from services.common.ids import derived_id
from services.scheduler.domain.state import BookingRec, CentreState
from services.scheduler.solver.model import Assignment

SOURCE = "reslot/scheduler"
# A class's type string, read once: pydantic's model_fields on a class is slow (~18 us),
# and a portal-wide outage builds hundreds of thousands of events.
_type_of = functools.cache(event_type_of)


def _envelope(cls: type[CloudEvent[Any]], event_id: str, centre: str, time: dt.datetime,
              data: Any) -> CloudEvent[Any]:
    return cls(specversion="1.0", id=event_id, source=SOURCE, type=_type_of(cls),
               time=time, subject=centre, data=data)


def offer_id(plan_id: str, booking_id: str) -> str:
    """The id of a move's rescheduled event, which is also the offer's id."""
    return derived_id(plan_id, "rescheduled", booking_id)


def rescheduled(plan_id: str, outage_id: str, booking_id: str, booking: BookingRec,
                centre: str, a: Assignment, time: dt.datetime,
                reply_by: dt.datetime | None = None) -> CloudEvent[Any]:
    assert booking.slot_start is not None
    assert a.to_start is not None
    assert is_moved(a.reason), f"{a.reason} is not a reason for a move"
    event_id = offer_id(plan_id, booking_id)
    data = d.AppointmentRescheduled(
        booking_id=booking_id, centre_id=centre, outage_id=outage_id, plan_id=plan_id,
        service=booking.service, from_start=booking.slot_start, to_start=a.to_start,
        group_id=booking.group_id, reason=a.reason, offer_id=event_id, reply_by=reply_by,
    )
    return _envelope(e.AppointmentRescheduledEvent, event_id, centre, time, data)


def unplaced(plan_id: str, outage_id: str, booking_id: str, centre: str, a: Assignment,
             time: dt.datetime) -> CloudEvent[Any]:
    assert is_unplaced(a.reason), f"{a.reason} is not a reason for leaving unplaced"
    data = d.AppointmentUnplaced(booking_id=booking_id, centre_id=centre, outage_id=outage_id,
                                 plan_id=plan_id, reason=a.reason)
    event_id = derived_id(plan_id, "unplaced", booking_id)
    return _envelope(e.AppointmentUnplacedEvent, event_id, centre, time, data)


def notification(state: CentreState, plan_id: str, booking_id: str, booking: BookingRec,
                 a: Assignment, time: dt.datetime, supersedes: tuple[str, ...] = (),
                 extra: dict[str, str] | None = None) -> CloudEvent[Any] | None:
    """One message per applicant and decision; None for a booking we hold no contact for.
    `old_start` is the slot held until now, `new_start` the slot decided (for a restore:
    the original slot, which stands again; equal to old_start for a waiting booking)."""
    info, applicant = state.info, booking.applicant
    if info is None or applicant is None or booking.slot_start is None:
        return None
    tz = ZoneInfo(info.timezone)
    variables = {
        "booking_id": booking_id,
        "old_start": booking.slot_start.astimezone(tz).isoformat(),
        "timezone": info.timezone,
        "centre_name": info.name,
        "centre_address": info.address,
        "centre_city": info.city,
        "service": booking.service,
        "reason": a.reason,
    }
    if a.to_start is not None:
        variables["new_start"] = a.to_start.astimezone(tz).isoformat()
    variables.update(extra or {})
    notification_id = derived_id(plan_id, "notify", booking_id)
    data = d.NotificationRequested(
        notification_id=notification_id,
        booking_id=booking_id,
        centre_id=state.centre_id,
        template=_template(a),
        language=applicant.language,
        recipient=d.Recipient(name=applicant.name, email=applicant.email, phone=applicant.phone),
        variables=variables,
        supersedes=supersedes,
    )
    return requested(data, time)


def requested(data: d.NotificationRequested, time: dt.datetime) -> CloudEvent[Any]:
    """The event of a message: made with its decision, or released when its plan is
    approved (the same notification id)."""
    return _envelope(e.NotificationRequestedEvent, data.notification_id, data.centre_id, time,
                     data)


def _template(a: Assignment) -> d.Template:
    if a.to_start is None:
        return "appointment_unplaced"
    return "appointment_restored" if a.reason == "restored" else "appointment_rescheduled"


def plan_completed(data: d.PlanCompleted, time: dt.datetime) -> CloudEvent[Any]:
    event_id = derived_id(data.plan_id, "completed")
    return _envelope(e.PlanCompletedEvent, event_id, data.centre_id, time, data)


def capacity_advice(data: d.CapacityAdvice, time: dt.datetime) -> CloudEvent[Any]:
    """The event id is the advice id: new with every change of the waiting list."""
    assert data.advice_id is not None
    return _envelope(e.CapacityAdviceEvent, data.advice_id, data.centre_id, time, data)


def capacity_conflict(cause_id: str, data: d.CapacityConflict,
                      time: dt.datetime) -> CloudEvent[Any]:
    event_id = derived_id(cause_id, "conflict", data.service, data.slot_start.isoformat())
    return _envelope(e.CapacityConflictEvent, event_id, data.centre_id, time, data)


def offer_refused(cause_id: str, data: r.OfferRefused, time: dt.datetime) -> CloudEvent[Any]:
    """A reply (or a pin) that changes nothing, and why: its id derives from the reply's."""
    assert data.centre_id is not None
    return _envelope(e.OfferRefusedEvent, derived_id(cause_id, "refused"), data.centre_id,
                     time, data)


def appointment_cancelled(cause_id: str, data: r.AppointmentCancelled,
                          time: dt.datetime) -> CloudEvent[Any]:
    return _envelope(e.AppointmentCancelledEvent, derived_id(cause_id, "cancelled"),
                     data.centre_id, time, data)


def timeout_confirmed(data: r.OfferConfirmed, time: dt.datetime) -> CloudEvent[Any]:
    """No answer by reply_by: the scheduler answers for the applicant, once per offer."""
    return _envelope(e.OfferConfirmedEvent, derived_id("timeout", data.offer_id),
                     data.centre_id, time, data)
