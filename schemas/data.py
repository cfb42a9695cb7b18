"""The `data` object of every event type of CONTRACT.md.

Every model is frozen and strict: wrong types are rejected rather than coerced, datetimes
must carry an offset, windows must end after they start. Unknown fields are ignored, as
CONTRACT.md lets a v1 producer add optional fields.
"""

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.envelope import YEARS, plausible_time
from schemas.reasons import MovedReason, PlanTrigger, UnplacedReason

Language = Literal["fr", "ar", "en"]
Category = Literal["standard", "official", "medical"]


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "Africa" is a directory
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


def _whole_minute(value: dt.datetime) -> dt.datetime:
    """A whole minute of a plausible year: one check, as every booking event has one."""
    if value.second or value.microsecond:
        raise ValueError("slot and window times are whole minutes")
    return plausible_time(value)


# No control characters (PostgreSQL refuses a NUL: the partition stalled, retrying for ever).
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
# Names and places shown to applicants: one line, of a length a message can carry.
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
# An address may span lines, but holds no other control character (PostgreSQL refuses NUL).
Address = Annotated[str, Field(min_length=1, max_length=500,
                               pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]+$")]
CentreId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
Service = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")]
def _plausible_date(value: dt.date) -> dt.date:
    if value.year not in YEARS:
        raise ValueError(f"year {value.year} is outside {YEARS.start}-{YEARS.stop - 1}")
    return value


def _at_most_a_year(minutes: int) -> int:
    if minutes > 366 * 24 * 60:
        raise ValueError("a notice of more than a year")
    return minutes


Minute = Annotated[AwareDatetime, AfterValidator(_whole_minute)]
PlausibleDate = Annotated[dt.date, AfterValidator(_plausible_date)]


class Data(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")


class CentreRegistered(Data):
    centre_id: CentreId = Field(description="Stable id of the visa application centre.")
    name: Line = Field(description="Display name, e.g. 'Capago Alger'.")
    city: Line = Field(description="City of the centre.")
    country: str = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g. 'DZ'."
    )
    timezone: Annotated[str, AfterValidator(_known_timezone)] = Field(
        description="IANA time zone of the centre, e.g. 'Africa/Algiers'."
    )
    address: Address = Field(description="Postal address shown to applicants.")
    languages: tuple[Language, ...] = Field(
        min_length=1, description="Languages the centre serves, in order of preference."
    )


class SlotSpec(Data):
    start: Minute = Field(description="Start of the slot, RFC 3339 with offset.")
    duration_min: int = Field(gt=0, le=24 * 60, description="Length of the slot in minutes.")
    capacity: int = Field(ge=0, le=100_000, description="Applicants the slot can receive.")


class SlotsPublished(Data):
    centre_id: CentreId = Field(description="Centre offering the slots.")
    service: Service = Field(description="Service the slots are for, e.g. 'short_stay'.")
    slots: tuple[SlotSpec, ...] = Field(
        min_length=1, description="Slots; publishing an existing slot replaces its capacity."
    )


class SlotsWithdrawn(Data):
    centre_id: CentreId = Field(description="Centre withdrawing the slots.")
    service: Service = Field(description="Service of the withdrawn slots.")
    starts: tuple[Minute, ...] = Field(min_length=1, description="Starts of withdrawn slots.")


class Applicant(Data):
    name: Line = Field(description="Applicant's name (personal data: never logged).")
    language: Language = Field(description="Language the applicant is written to in.")
    email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="E-mail address."
    )
    phone: str | None = Field(
        default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="Phone number, E.164."
    )


class BookingCreated(Data):
    booking_id: Id = Field(description="Booking id, unique per centre.")
    centre_id: CentreId = Field(description="Centre of the appointment.")
    service: Service = Field(description="Service booked.")
    slot_start: Minute = Field(description="Start of the booked slot.")
    group_id: Id | None = Field(
        default=None, description="Shared by the members of one family, handled together."
    )
    category: Category = Field(
        default="standard", description="Priority: standard (1), official (2), medical (3)."
    )
    travel_date: PlausibleDate | None = Field(
        default=None, description="Planned date of travel."
    )
    applicant: Applicant = Field(description="Who to tell about changes.")


class BookingCancelled(Data):
    booking_id: Id = Field(description="Booking cancelled upstream.")
    centre_id: CentreId = Field(description="Centre of the booking.")


class BookingMoved(Data):
    booking_id: Id = Field(description="Booking moved by the booking system itself.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    slot_start: Minute = Field(description="New slot start.")


class _Window(Data):
    @model_validator(mode="after")
    def _end_after_start(self) -> "_Window":
        start, end = getattr(self, "start"), getattr(self, "end")  # noqa: B009
        if end <= start:
            raise ValueError(f"outage window ends ({end}) before or when it starts ({start})")
        return self


class OutageDeclared(_Window):
    outage_id: Id = Field(description="Id of the outage, stable across revisions.")
    centre_ids: tuple[CentreId, ...] = Field(
        min_length=1, description="Every centre the outage stops (portal-wide: many)."
    )
    start: Minute = Field(description="Start of the half-open outage window.")
    end: Minute = Field(description="End of the half-open outage window.")
    services: tuple[Service, ...] | None = Field(
        default=None, description="Services stopped; absent means every service."
    )
    reason: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$",
                        description="Why, e.g. portal maintenance.")
    notice_min: Annotated[int, AfterValidator(_at_most_a_year)] = Field(
        default=1440, ge=0, description="Least notice in minutes a displaced applicant gets."
    )


class OutageRevised(_Window):
    outage_id: Id = Field(description="Outage being revised.")
    start: Minute = Field(description="New start of the window.")
    end: Minute = Field(description="New end of the window.")
    centre_ids: tuple[CentreId, ...] | None = Field(
        default=None, description="New set of centres; absent keeps the previous set."
    )
    services: tuple[Service, ...] | None = Field(
        default=None, description="New set of services; absent keeps the previous set."
    )


class OutageLifted(Data):
    outage_id: Id = Field(description="Outage that is over: no further moves.")


class AppointmentRescheduled(Data):
    booking_id: Id = Field(description="Booking that was moved.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    outage_id: Id = Field(description="Outage that displaced it.")
    plan_id: Id = Field(description="Plan that decided the move.")
    service: Service = Field(description="Service of the booking.")
    from_start: AwareDatetime = Field(description="Slot start before the move.")
    to_start: AwareDatetime = Field(description="Slot start after the move.")
    group_id: Id | None = Field(default=None, description="Family the booking belongs to.")
    reason: MovedReason = Field(description="Why this slot (schemas/reasons.py).")
    offer_id: Id | None = Field(
        default=None, description="v1.1: the offer this decision makes (its own event id)."
    )
    reply_by: AwareDatetime | None = Field(
        default=None, description="v1.1: no answer by then counts as confirmed."
    )


class AppointmentUnplaced(Data):
    booking_id: Id = Field(description="Booking that could not be moved.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    outage_id: Id = Field(description="Outage that displaced it.")
    plan_id: Id = Field(description="Plan that decided it.")
    reason: UnplacedReason = Field(description="Why no slot: the booking waits for room.")


class PlanCompleted(Data):
    plan_id: Id = Field(description="Deterministic id of the plan.")
    outage_id: Id = Field(description="Outage the plan answers.")
    centre_id: CentreId = Field(description="Centre planned.")
    displaced: int = Field(ge=0, description="Bookings displaced.")
    moved: int = Field(ge=0, description="Bookings moved to a new slot.")
    unplaced: int = Field(ge=0, description="Bookings left for a person to call.")
    cost: int = Field(ge=0, description="Cost of the plan (CONTRACT.md).")
    bound: int = Field(ge=0, description="Best proven lower bound on the cost.")
    status: Literal["optimal", "feasible"] = Field(
        description="Whether the plan is proven optimal."
    )
    solve_ms: int = Field(ge=0, description="Wall time spent solving, in milliseconds.")
    trigger: PlanTrigger = Field(default="outage", description="v1.1: what caused the plan.")
    held: bool = Field(
        default=False, description="v1.1: held for review: nothing sent until approved."
    )


class ExtraPlaces(Data):
    date: dt.date = Field(description="Local date at the centre.")
    service: Service = Field(description="Service needing places.")
    places: int = Field(gt=0, description="Extra places that day would have placed everyone.")


class CapacityAdvice(Data):
    centre_id: CentreId = Field(description="Centre short of capacity.")
    outage_id: Id = Field(description="Outage whose plan left applicants unplaced.")
    extra: tuple[ExtraPlaces, ...] = Field(description="Fewest extra places per day and service.")
    advice_id: Id | None = Field(
        default=None, description="v1.1: new with every change of the waiting list."
    )


class CapacityConflict(Data):
    centre_id: CentreId = Field(description="Centre with an overbooked slot.")
    service: Service = Field(description="Service of the slot.")
    slot_start: AwareDatetime = Field(description="Start of the overbooked slot.")
    capacity: int = Field(ge=0, description="Capacity of the slot (0 when withdrawn).")
    booked: int = Field(ge=0, description="Active bookings in the slot.")


class Recipient(Data):
    name: Line = Field(description="Applicant's name.")
    email: str | None = Field(default=None, description="E-mail address, if any.")
    phone: str | None = Field(default=None, description="Phone number (E.164), if any.")


Template = Literal[
    "appointment_rescheduled", "appointment_unplaced", "appointment_restored",
    "reply_link", "reply_help",
]


class NotificationRequested(Data):
    notification_id: Id = Field(description="Deterministic: one decision, one id.")
    booking_id: Id = Field(description="Booking the notification is about.")
    centre_id: CentreId = Field(description="Centre of the booking.")
    template: Template = Field(description="Which message to send.")
    language: Language = Field(description="Language of the applicant.")
    recipient: Recipient = Field(description="Who to send it to.")
    variables: dict[str, str] = Field(
        description="Template variables: times in the centre's local time, centre name, ..."
    )
    supersedes: tuple[Id, ...] = Field(
        default=(), description="v1.1: notification ids of the same booking it replaces."
    )


class NotificationDelivered(Data):
    notification_id: Id = Field(description="Notification delivered.")
    channel: Literal["email", "sms"] = Field(description="Channel used.")
    attempts: int = Field(ge=1, description="Attempts it took.")


class NotificationFailed(Data):
    notification_id: Id = Field(description="Notification that could not be delivered.")
    channel: Literal["email", "sms"] = Field(
        description="Channel that failed (no contact at all: one failure per channel)."
    )
    attempts: int = Field(ge=0, description="Attempts made.")
    error: str = Field(min_length=1, description="Why it failed, e.g. no_contact.")


class DeadLetter(Data):
    topic: str = Field(description="Topic the message was read from.")
    partition: int = Field(ge=0, description="Partition it was read from.")
    offset: int = Field(ge=0, description="Offset it was read at.")
    key: str | None = Field(default=None, description="Message key, base64.")
    value: str = Field(description="Original message bytes, base64.")
    error_class: str = Field(description="Kind of failure, e.g. invalid_json, schema_invalid.")
    error: str = Field(description="Human-readable reason.")
    service: str = Field(description="Service that gave up on the message.")
