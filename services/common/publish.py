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


def validate_lines(lines: Iterable[str | bytes]) -> tuple[list[Outgoing], list[InvalidLine]]:
    """Every line checked (bytes as read: one that is not UTF-8 is an invalid line); the
    messages to send only make sense when there is no error."""
    messages, errors = [], []
    for number, line in enumerate(lines, start=1):
        raw = (line if isinstance(line, bytes) else line.encode()).strip()
        if not raw:
            continue
        try:
            event = parse_event(raw, ANY_ADAPTER)
        except EventError as exc:
            errors.append(InvalidLine(number, f"{exc.kind}: {exc}"))
            continue
        messages.append(Outgoing(TOPIC_OF_TYPE[event.type], event.centre_key, raw))
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
