"""Kafka at the edge: read a batch of requests, dead-letter what is not one, hand the rest to
the intake. Status events leave through the store's outbox and the relay, not from here.

Nothing here decides anything about notifications: parsing uses the shared contract
(`schemas.envelope.parse_event`), dead letters the shared builder, the decision is the
Intake's. A store or a broker that is down is waited out (services.common.retry), never
skipped: the batch's offsets are committed only once this returns.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from opentelemetry.trace import Span, SpanKind

from schemas.data import NotificationRequested
from schemas.envelope import EventError, parse_event
from schemas.events import NOTIFICATION_ADAPTER, NotificationRequestedEvent
from schemas.topics import Topic
from services.common import tracing
from services.common.clock import Clock
from services.common.deadletter import deadletter_event, record_time
from services.common.kafka import Outgoing, publish_all
from services.common.retry import until_done
from services.notifier.dispatcher.config import UNAVAILABLE
from services.notifier.domain.status import SERVICE, SOURCE
from services.notifier.metrics import NotifierMetrics
from services.notifier.service import Intake
from services.notifier.traces import Traces

log = structlog.get_logger("reslot.notifier")

Headers = tuple[tuple[str, bytes], ...]


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
        traces: Traces,
    ) -> None:
        self._intake = intake
        self._producer = producer
        self._clock = clock
        self._metrics = metrics
        self._traces = traces

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
            await until_done(lambda: self._dead_letter(letters), "publish dead letters",
                             UNAVAILABLE, log)
        if requests:
            try:
                await until_done(lambda: self._intake.accept(requests), "claim notifications",
                                 UNAVAILABLE, log)
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
        self._traces.keep(request.notification_id, span)
        log.debug("notification request received", event_id=event.id,
                  notification_id=request.notification_id, centre_id=request.centre_id,
                  booking_id=request.booking_id, trace_id=tracing.trace_id_hex(span))
        return span

    def _letter(self, incoming: Incoming, exc: EventError) -> Outgoing:
        letter = deadletter_event(
            topic=incoming.topic, partition=incoming.partition, offset=incoming.offset,
            key=incoming.key, value=incoming.value, error=exc, service=SERVICE, source=SOURCE,
            at=record_time(incoming.timestamp_ms, self._clock.now()),
        )
        key = incoming.key.decode("utf-8", "replace") if incoming.key else ""
        return Outgoing(Topic.DEADLETTER, key, letter.to_json())

    async def _dead_letter(self, letters: Sequence[tuple[Incoming, EventError]]) -> None:
        await publish_all(self._producer, [self._letter(i, exc) for i, exc in letters])
        for incoming, exc in letters:
            self._metrics.dead_letters.labels(SERVICE, exc.kind).inc()
            log.warning(
                "message dead-lettered",
                topic=incoming.topic,
                partition=incoming.partition,
                offset=incoming.offset,
                error_class=exc.kind,
            )
