"""Kafka at the edge: read a request, dead-letter what is not one, publish status events.

Nothing here decides anything about notifications: parsing uses the shared contract
(`schemas.envelope.parse_event`), the decision is the Intake's.
"""

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple, Unpack

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from sqlalchemy.exc import SQLAlchemyError

from schemas.data import NotificationRequested
from schemas.envelope import EventError, parse_event
from schemas.events import NOTIFICATION_ADAPTER, NotificationRequestedEvent
from schemas.topics import Topic
from services.common import tracing
from services.common.kafka import Outgoing, publish_all
from services.notifier.clock import Clock
from services.notifier.domain.status import StatusEvent, dead_letter_event
from services.notifier.metrics import NotifierMetrics
from services.notifier.service import Intake

log = structlog.get_logger("reslot.notifier")

# Failures of the store or the broker: wait and try the same message again, never skip it.
RETRYABLE = (SQLAlchemyError, KafkaError, OSError)

Args = TypeVarTuple("Args")
Headers = tuple[tuple[str, bytes], ...]

# Trace context of the notifications seen lately, to continue their traces to their status
# events (a status published after a restart starts no span: the context is not stored).
_TRACES_KEPT = 50_000


@dataclass(frozen=True)
class Incoming:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int | None = None
    headers: Headers = ()


def incoming_of(record: ConsumerRecord[Any, Any]) -> Incoming:
    return Incoming(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        timestamp_ms=record.timestamp,
        headers=tuple((k, v or b"") for k, v in record.headers or ()),
    )


class KafkaEdge:
    def __init__(
        self,
        *,
        intake: Intake,
        producer: AIOKafkaProducer,
        clock: Clock,
        metrics: NotifierMetrics,
    ) -> None:
        self._intake = intake
        self._producer = producer
        self._clock = clock
        self._metrics = metrics
        self._traces: OrderedDict[str, otel_context.Context] = OrderedDict()

    async def handle(self, batch: Sequence[Incoming]) -> None:
        """Handle messages for good: when this returns, their offsets may be committed.

        Invalid ones are dead-lettered; the valid ones are claimed in one transaction.
        """
        requests: list[NotificationRequested] = []
        letters: list[tuple[Incoming, EventError]] = []
        spans: list[Span] = []
        for incoming in batch:
            try:
                event = parse_event(incoming.value, NOTIFICATION_ADAPTER)
            except EventError as exc:
                letters.append((incoming, exc))
                continue
            assert isinstance(event, NotificationRequestedEvent)
            requests.append(event.data)
            spans.append(self._accepting(incoming, event))
        if letters:
            await self._until_done(self._dead_letter, letters)
        if requests:
            try:
                await self._until_done(self._intake.accept, requests)
            finally:
                for span in spans:
                    span.end()

    def _accepting(self, incoming: Incoming, event: NotificationRequestedEvent) -> Span:
        """The span of one request, continuing the scheduler's trace (kept for its status)."""
        request = event.data
        span = tracing.span(
            "reslot.notification.accept", parent=tracing.context_of(incoming.headers),
            kind=SpanKind.CONSUMER,
            attributes={"cloudevents.event_id": event.id, "reslot.centre_id": request.centre_id,
                        "reslot.notification_id": request.notification_id,
                        "reslot.booking_id": request.booking_id,
                        "messaging.kafka.offset": incoming.offset})
        if span.get_span_context().is_valid:
            self._traces[request.notification_id] = trace.set_span_in_context(span)
            self._traces.move_to_end(request.notification_id)
            while len(self._traces) > _TRACES_KEPT:
                self._traces.popitem(last=False)
        log.debug("notification request received", event_id=event.id,
                  notification_id=request.notification_id, centre_id=request.centre_id,
                  booking_id=request.booking_id, trace_id=tracing.trace_id_hex(span))
        return span

    async def publish_status(self, events: Sequence[StatusEvent]) -> None:
        """Status events keyed by centre id, in order; each keeps its id on re-publication."""
        spans = [self._status_span(e) for e in events]
        try:
            await publish_all(
                self._producer,
                [
                    Outgoing(Topic.NOTIFICATION_STATUS, e.subject, e.to_json(), headers)
                    for e, (_, headers) in zip(events, spans, strict=True)
                ],
            )
        finally:
            for span, _ in spans:
                if span is not None:
                    span.end()

    def _status_span(self, event: StatusEvent) -> tuple[Span | None, Headers]:
        parent = self._traces.get(event.data.notification_id)
        if parent is None:
            return None, ()
        span = tracing.span(
            "reslot.notification.status", parent=parent, kind=SpanKind.PRODUCER,
            attributes={"cloudevents.event_id": event.id, "cloudevents.event_type": event.type,
                        "reslot.centre_id": event.subject,
                        "reslot.notification_id": event.data.notification_id,
                        "reslot.channel": event.data.channel})
        return span, tracing.headers_of(span)

    def _letter(self, incoming: Incoming, exc: EventError) -> Outgoing:
        at = (
            dt.datetime.fromtimestamp(incoming.timestamp_ms / 1000, dt.UTC)
            if incoming.timestamp_ms is not None and incoming.timestamp_ms >= 0
            else self._clock.now()
        )
        letter = dead_letter_event(
            topic=incoming.topic,
            partition=incoming.partition,
            offset=incoming.offset,
            key=incoming.key,
            value=incoming.value,
            error_class=exc.kind,
            error=str(exc),
            at=at,
        )
        key = incoming.key.decode("utf-8", "replace") if incoming.key else ""
        return Outgoing(Topic.DEADLETTER, key, letter.to_json())

    async def _dead_letter(self, letters: Sequence[tuple[Incoming, EventError]]) -> None:
        await publish_all(self._producer, [self._letter(i, exc) for i, exc in letters])
        for incoming, exc in letters:
            self._metrics.dead_letters.labels("notifier", exc.kind).inc()
            log.warning(
                "message dead-lettered",
                topic=incoming.topic,
                partition=incoming.partition,
                offset=incoming.offset,
                error_class=exc.kind,
            )

    async def _until_done(
        self, operation: Callable[[Unpack[Args]], Awaitable[object]], *args: *Args
    ) -> None:
        delay = 0.1
        while True:
            try:
                await operation(*args)
                return
            except RETRYABLE as exc:
                log.warning("store or broker unavailable, retrying", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
