"""From a Kafka record to an event of the contract, or to a dead letter with the reason.

Bad input never raises: `parse` gives the event, or an EventError that the pipeline turns
into a dead letter (`deadletter_row`), committed with the record's offset so the partition
moves on and nothing disappears.

Records of the scheduler's internal topics carry where they come from (`Origin`, a header):
the input topic they belong to, and the record they were made from, so that their owner
applies each once even when the relay publishes it twice.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from schemas.envelope import CloudEvent, EventError, parse_event
from schemas.events import INPUT_ADAPTER
from schemas.topics import TOPIC_OF_TYPE, Topic
from services.common.deadletter import deadletter_event, record_time
from services.common.tracing import Headers
from services.scheduler.domain.outputs import SOURCE
from services.scheduler.store.rows import OutboxRow

ORIGIN_HEADER = "reslot-origin"
PUBLIC_INPUTS = frozenset({Topic.CENTRES, Topic.CAPACITY, Topic.BOOKINGS, Topic.OUTAGES,
                           Topic.REPLIES, Topic.OPS})


class Record(Protocol):
    """One input message: aiokafka's ConsumerRecord as fetched (no copy per message), or an
    InputRecord. Only trace context and origin are read from the headers."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int: ...  # milliseconds since the epoch; 0 or -1 when unknown
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class InputRecord(NamedTuple):
    """A Record read from elsewhere than Kafka (`reslot plan`, tests)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: Headers = ()


class Origin(NamedTuple):
    """Where a record of an internal topic comes from: the input topic its event belongs to
    (`reslot.outages-by-centre.v1` for an outage already routed) and the record it was made
    from; `copy` tells apart the copies made from one record (an outage's centres)."""

    input_topic: str
    topic: str
    partition: int
    offset: int
    copy: int = 0

    def header(self) -> tuple[str, bytes]:
        fields = (self.input_topic, self.topic, self.partition, self.offset, self.copy)
        return ORIGIN_HEADER, "/".join(map(str, fields)).encode()

    @property
    def position(self) -> tuple[int, int]:
        return self.offset, self.copy


def origin_of(headers: Sequence[tuple[str, bytes | None]]) -> Origin | None:
    for name, value in headers:
        if name != ORIGIN_HEADER or value is None:
            continue
        parts = value.decode(errors="replace").split("/")
        if len(parts) != 5 or not all(p.lstrip("-").isdigit() for p in parts[2:]):
            return None
        return Origin(parts[0], parts[1], int(parts[2]), int(parts[3]), int(parts[4]))
    return None


class Parsed(NamedTuple):
    record: Record
    event: CloudEvent[Any] | None = None
    error: EventError | None = None
    centre: str = ""  # the centre it changes; "" for an outage not yet routed to centres
    origin: Origin | None = None  # a record of an internal topic: where it comes from

    @property
    def owner_key(self) -> str:
        """What decides the partition that applies it: its centre, or for an outage not yet
        routed its outage id (one owner routes every event of one outage)."""
        assert self.event is not None
        return self.centre or str(self.event.data.outage_id)

    @property
    def input_topic(self) -> str:
        """The topic its event belongs to (for a forwarded record, where it was first read)."""
        return self.origin.input_topic if self.origin is not None else self.record.topic


def parse(record: Record) -> Parsed:
    try:
        event = parse_event(record.value or b"", INPUT_ADAPTER)
    except EventError as exc:
        return Parsed(record, error=exc)
    origin = None
    topic = record.topic
    if topic in (Topic.INPUTS_BY_CENTRE, Topic.OUTAGES_BY_CENTRE):
        origin = origin_of(record.headers)
        if topic == Topic.INPUTS_BY_CENTRE:
            if origin is None:
                return Parsed(record, error=EventError(
                    "schema_invalid", f"{topic} record without a valid {ORIGIN_HEADER} header"))
            topic = origin.input_topic
    expected = TOPIC_OF_TYPE[event.type]
    routed = topic == Topic.OUTAGES_BY_CENTRE and expected == Topic.OUTAGES
    if expected != topic and not routed:
        return Parsed(record, error=EventError(
            "wrong_topic", f"{event.type} belongs on {expected}, not {topic}"))
    if routed and not event.subject:
        return Parsed(record, error=EventError("schema_invalid", "routed outage has no centre"))
    centre = "" if topic == Topic.OUTAGES else centre_of(event)
    return Parsed(record, event, None, centre, origin)


def centre_of(event: CloudEvent[Any]) -> str:
    return str(getattr(event.data, "centre_id", None) or event.subject)


def deadletter_row(record: Record, error: EventError, now: dt.datetime) -> OutboxRow:
    """The dead letter of a record, stamped with its Kafka timestamp (or `now` when it has
    none a contract event can carry: 0, -1, a year out of range)."""
    event = deadletter_event(
        topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
        value=record.value, error=error, service="scheduler", source=SOURCE,
        at=record_time(record.timestamp, now))
    key = record.key.decode(errors="replace") if record.key else record.topic
    return OutboxRow(record.partition, Topic.DEADLETTER, key, event.to_json())
