"""What a notification request says, checked: the facts a message is written from."""

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.data import NotificationRequested, Recipient, Template
from services.notifier.domain.model import Channel

COMMON_VARIABLES = (
    "old_start",
    "timezone",
    "centre_name",
    "centre_address",
    "centre_city",
    "service",
    "reason",
)
REQUIRED_VARIABLES: dict[str, tuple[str, ...]] = {
    "appointment_rescheduled": (*COMMON_VARIABLES, "new_start"),
    "appointment_unplaced": COMMON_VARIABLES,
}


class InvalidRequest(ValueError):
    """The request cannot be written as a message; the text names variables, never values."""


@dataclass(frozen=True)
class Facts:
    template: Template
    language: Literal["fr", "ar", "en"]
    timezone: ZoneInfo
    old_start: dt.datetime  # in the centre's time zone
    new_start: dt.datetime | None
    centre_name: str
    centre_address: str
    centre_city: str
    service: str
    reason: str
    booking_id: str
    recipient_name: str


def channels_of(recipient: Recipient) -> tuple[Channel, ...]:
    """Every channel the recipient can be reached on: both when both are known."""
    channels: list[Channel] = []
    if recipient.email:
        channels.append("email")
    if recipient.phone:
        channels.append("sms")
    return tuple(channels)


def centre_timezone(variables: dict[str, str]) -> ZoneInfo:
    name = variables.get("timezone", "")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "Africa" is a directory
        raise InvalidRequest("variable timezone is not an IANA time zone") from exc


def _local_time(variables: dict[str, str], key: str, tz: ZoneInfo) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(variables[key])
    except ValueError as exc:
        raise InvalidRequest(f"variable {key} is not an ISO 8601 date-time") from exc
    if value.tzinfo is None:
        raise InvalidRequest(f"variable {key} has no UTC offset")
    try:
        return value.astimezone(tz)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59+00:00 is year 10000 in Algiers
        raise InvalidRequest(f"variable {key} is out of range") from exc


def facts_of(request: NotificationRequested) -> Facts:
    """The checked facts of a request, or InvalidRequest naming what is missing or malformed."""
    v = request.variables
    required = REQUIRED_VARIABLES.get(request.template)
    if required is None:
        raise InvalidRequest(f"template {request.template} has no message yet")
    missing = [k for k in required if not v.get(k, "").strip()]
    if missing:
        raise InvalidRequest(f"missing variable(s): {', '.join(missing)}")
    tz = centre_timezone(v)
    new_start = v.get("new_start")
    return Facts(
        template=request.template,
        language=request.language,
        timezone=tz,
        old_start=_local_time(v, "old_start", tz),
        new_start=_local_time(v, "new_start", tz) if new_start else None,
        centre_name=v["centre_name"].strip(),
        centre_address=v["centre_address"].strip(),
        centre_city=v["centre_city"].strip(),
        service=v["service"].strip(),
        reason=v["reason"].strip(),
        booking_id=v.get("booking_id", "").strip() or request.booking_id,
        recipient_name=request.recipient.name.strip(),
    )
