"""v1.1 `data` objects: applicants' replies to offers, the scheduler's answers, operators' acts.

Replies travel on visa.replies.v1 and operators' acts on visa.ops.v1, both keyed by centre
id; the scheduler folds them like any input and answers on visa.reschedules.v1.
"""

from typing import Literal

from pydantic import Field

from schemas.data import CentreId, Data, Id, Minute
from schemas.reasons import RefusalReason

ReplyChannel = Literal["web", "sms", "timeout"]
Operator = Field(min_length=1, max_length=200, description="Who did it (operator id).")


class OfferConfirmed(Data):
    offer_id: Id = Field(description="The offer answered (the rescheduled event's id).")
    booking_id: Id = Field(description="Booking the offer is for.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    channel: ReplyChannel = Field(description="web | sms, or timeout: no answer by reply_by.")


class OfferDeclined(Data):
    offer_id: Id = Field(description="The offer answered.")
    booking_id: Id = Field(description="Booking the offer is for.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    channel: ReplyChannel = Field(description="Where the answer came from.")
    wants: Literal["call_me", "cancel"] = Field(
        description="cancel the appointment, or be called by the centre."
    )


class OfferChanged(Data):
    offer_id: Id = Field(description="The offer answered.")
    booking_id: Id = Field(description="Booking the offer is for.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    channel: ReplyChannel = Field(description="Where the answer came from.")
    slot_start: Minute = Field(description="The alternative chosen (one of those shown).")


class OfferRefused(Data):
    offer_id: Id = Field(description="The offer (or pin event) whose answer is refused.")
    reason: RefusalReason = Field(description="Why; the previous offer stands.")
    booking_id: Id | None = Field(default=None, description="Booking concerned.")
    centre_id: CentreId | None = Field(default=None, description="Centre of the booking.")
    detail: str = Field(default="", max_length=500, description="The rule broken, in words.")


class AppointmentCancelled(Data):
    booking_id: Id = Field(description="Booking cancelled at the applicant's request.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    reason: Literal["applicant_declined"] = Field(description="Why it was cancelled.")


class PlanApproved(Data):
    plan_id: Id = Field(description="The held plan approved: its messages may go out.")
    centre_id: CentreId = Field(description="Centre of the plan.")
    by: str = Operator


class BookingPinned(Data):
    booking_id: Id = Field(description="Displaced or waiting booking placed by hand.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    slot_start: Minute = Field(description="The slot chosen (its family comes along).")
    by: str = Operator


class CallLogged(Data):
    booking_id: Id = Field(description="Booking on the call list.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    by: str = Operator
    outcome: Literal["reached", "no_answer", "resolved"] = Field(
        description="What the call did; resolved takes the booking off the call list."
    )
    note: str = Field(default="", max_length=500, description="Free text (no personal data).")
