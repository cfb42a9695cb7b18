"""The one dead-letter builder: a message a service gave up on, carried whole with the reason.

Both services read Kafka records whose bytes may be anything; what they cannot process
goes to visa.deadletter.v1 with its topic, partition, offset, original bytes (base64) and
a clear reason, under an id derived from where it was read (a replay gives the same id).
"""

import base64
import datetime as dt

from schemas.data import DeadLetter
from schemas.envelope import YEARS, EventError
from schemas.events import DeadLetterEvent
from services.common.ids import derived_id


def record_time(timestamp_ms: int | None, now: dt.datetime) -> dt.datetime:
    """A record's timestamp as a time, or `now` when it has none a contract event could
    carry (0, -1 or any other year outside the plausible ones)."""
    if timestamp_ms is None or timestamp_ms <= 0:
        return now
    try:
        at = dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return at if at.year in YEARS else now


def deadletter_event(*, topic: str, partition: int, offset: int, key: bytes | None,
                     value: bytes | None, error: EventError, service: str, source: str,
                     at: dt.datetime) -> DeadLetterEvent:
    """The dead letter of one record; `at` is its time (see record_time)."""
    data = DeadLetter(
        topic=topic, partition=partition, offset=offset,
        key=base64.b64encode(key).decode() if key is not None else None,
        value=base64.b64encode(value or b"").decode(),
        error_class=error.kind, error=str(error)[:2000], service=service,
    )
    return DeadLetterEvent(
        specversion="1.0", id=derived_id("deadletter", topic, str(partition), str(offset)),
        source=source, type="visa.deadletter.v1", time=at, subject="", data=data,
    )
