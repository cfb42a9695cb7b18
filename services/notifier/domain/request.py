"""What a notification request says, checked: the facts a message is written from."""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit
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
    # new_start: the original slot, which stands again; old_start: the one held until now
    "appointment_restored": (*COMMON_VARIABLES, "new_start"),
    "reply_link": (*COMMON_VARIABLES, "reply_url"),
    "reply_help": COMMON_VARIABLES,
}
# Optional on any template (v1.1 replies): the applicant's personal link, the deadline to
# answer (local time) and the short code of an SMS reply.
REPLY_VARIABLES = ("reply_url", "reply_by", "reply_code")
_REPLY_CODE = re.compile(r"^[A-Za-z0-9-]{1,16}$")


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
    reply_url: str | None = None
    reply_by: dt.datetime | None = None  # in the centre's time zone
    reply_code: str | None = None


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
    reply_by = v.get("reply_by", "").strip()
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
        reply_url=_reply_url(v.get("reply_url", "").strip()),
        reply_by=_local_time(v, "reply_by", tz) if reply_by else None,
        reply_code=_reply_code(v.get("reply_code", "").strip()),
    )


def _reply_url(value: str) -> str | None:
    """The applicant's link: an absolute http(s) URL of one line, else InvalidRequest."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.isprintable() \
            or " " in value:
        raise InvalidRequest("variable reply_url is not an http(s) URL")
    return value


def _reply_code(value: str) -> str | None:
    if not value:
        return None
    if not _REPLY_CODE.match(value):
        raise InvalidRequest("variable reply_code is not a short code of letters and digits")
    return value
