"""CloudEvents 1.0 envelope (structured JSON mode) and strict parsing of raw messages."""

import datetime as dt
import json
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

D = TypeVar("D", bound=BaseModel)

CONTENT_TYPE = "application/cloudevents+json"


class EventError(ValueError):
    """A message that is not a valid event of the contract; `kind` names the failure."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# Times outside these years are no one's appointment: they would overflow the date
# arithmetic of planning (a horizon of days, notices in minutes) instead of being refused.
YEARS = range(2000, 2200)


def plausible_time(value: dt.datetime) -> dt.datetime:
    if value.year not in YEARS:
        raise ValueError(f"year {value.year} is outside {YEARS.start}-{YEARS.stop - 1}")
    return value


PlausibleTime = Annotated[AwareDatetime, AfterValidator(plausible_time)]


class CloudEvent(BaseModel, Generic[D]):
    """The envelope; `type` is narrowed to one literal by each concrete event class."""

    model_config = ConfigDict(frozen=True, strict=True, extra="allow")

    specversion: Literal["1.0"] = Field(description="CloudEvents version, always '1.0'.")
    id: str = Field(
        min_length=1, max_length=200, description="Unique per source; kept on redelivery."
    )
    source: str = Field(min_length=1, description="Publisher, a URI reference.")
    type: str = Field(description="Event type, e.g. visa.booking.created.v1.")
    time: PlausibleTime = Field(description="When the fact happened upstream (RFC 3339).")
    subject: str = Field(
        default="", description="Centre id; empty only for multi-centre outage events."
    )
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Content type of data."
    )
    data: D = Field(description="The event's payload.")

    @property
    def centre_key(self) -> str:
        """Kafka key: the centre id (the outage id for a multi-centre outage event)."""
        if self.subject:
            return self.subject
        return str(getattr(self.data, "outage_id", self.id))

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


def utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _error_text(exc: ValidationError, event_type: object) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] == event_type:
            loc = loc[1:]  # the union tag: already named at the start of the message
        where = ".".join(loc) or "event"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def parse_event(raw: bytes | str, adapter: TypeAdapter[Any]) -> CloudEvent[Any]:
    """Parse one message into the union of `adapter`, or raise EventError with a clear reason."""
    try:
        # One pass in the common case, straight into pydantic-core (the TypeAdapter method
        # only forwards its defaults, and this runs for every input event).
        event: CloudEvent[Any] = adapter.validator.validate_json(raw)
    except ValidationError as exc:
        try:
            obj = json.loads(raw)  # only to say precisely what is wrong
        except (ValueError, RecursionError) as bad:
            # ValueError: not UTF-8, not JSON, or an integer of more than 4,300 digits;
            # RecursionError: nested deeper than the interpreter's stack. Either way the
            # message is refused with its reason, never left to stall its partition.
            raise EventError("invalid_json", f"not JSON we can read: {_short(bad)}") from bad
        if not isinstance(obj, dict) or "specversion" not in obj or "type" not in obj:
            raise EventError(
                "not_cloudevent", "not a CloudEvent: needs specversion, type, data"
            ) from exc
        if any(e["type"] == "union_tag_invalid" for e in exc.errors()):
            raise EventError("unknown_type", f"unknown event type {obj.get('type')!r}") from exc
        kind = obj.get("type")
        raise EventError("schema_invalid", f"{kind}: {_error_text(exc, kind)}") from exc
    data_centre = getattr(event.data, "centre_id", None)
    if data_centre is not None and event.subject and event.subject != data_centre:
        raise EventError(
            "subject_mismatch",
            f"subject {event.subject!r} differs from data.centre_id {data_centre!r}",
        )
    return event
