"""`reslot publish`: validate a whole file of CloudEvents, then publish each to its topic."""

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.envelope import EventError, parse_event
from schemas.events import ANY_ADAPTER
from schemas.topics import TOPIC_OF_TYPE
from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.settings import Settings


@dataclass(frozen=True)
class InvalidLine:
    number: int
    reason: str


def validate_lines(lines: Iterable[str]) -> tuple[list[Outgoing], list[InvalidLine]]:
    """Every line checked; the messages to send only make sense when there is no error."""
    messages, errors = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = parse_event(line, ANY_ADAPTER)
        except EventError as exc:
            errors.append(InvalidLine(number, f"{exc.kind}: {exc}"))
            continue
        messages.append(Outgoing(TOPIC_OF_TYPE[event.type], event.centre_key,
                                 line.strip().encode()))
    return messages, errors


async def publish(settings: Settings, messages: list[Outgoing]) -> int:
    await ensure_topics(settings)  # never let the broker auto-create them (wrong partitions)
    producer = make_producer(settings)
    await producer.start()
    try:
        await publish_all(producer, messages)
    finally:
        await producer.stop()
    return len(messages)
