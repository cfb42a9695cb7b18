"""From a batch of input records to stored state, offsets and outbox rows.

The same code serves the running scheduler (records from Kafka) and `reslot plan`
(records from a file). Bad input never raises: it becomes a dead letter in the outbox,
committed with the offset, so the partition moves on and nothing disappears.
"""

import asyncio
import base64
import datetime as dt
import operator
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import structlog
from opentelemetry.trace import SpanKind

from schemas import data as d
from schemas.envelope import CloudEvent, EventError, parse_event
from schemas.events import INPUT_ADAPTER, DeadLetterEvent
from schemas.topics import INPUT_TOPICS, TOPIC_OF_TYPE, Topic
from services.common import tracing
from services.common.ids import derived_id
from services.common.metrics import Metrics
from services.common.tracing import Headers
from services.scheduler.domain.outputs import SOURCE
from services.scheduler.domain.process import PlanningConfig, process, settle
from services.scheduler.domain.routing import Route, route
from services.scheduler.domain.state import CentreState, PlanSummary
from services.scheduler.store.sql import (
    BatchRows,
    OutboxRow,
    SchedulerStore,
    TopicPartition,
    batch_rows,
)

log = structlog.get_logger("reslot.scheduler")


class Record(Protocol):
    """One input message: aiokafka's ConsumerRecord as fetched (no copy per message), or an
    InputRecord. Only trace context is read from the headers; no value is a bad event."""

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
    def timestamp(self) -> int: ...  # milliseconds since the epoch
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


class Parsed(NamedTuple):
    record: Record
    event: CloudEvent[Any] | None = None
    error: EventError | None = None
    centre: str = ""  # the centre it changes; "" for an outage not yet routed to centres


@dataclass
class BatchResult:
    outbox: list[OutboxRow] = field(default_factory=list)
    plans: list[PlanSummary] = field(default_factory=list)
    deadletters: list[tuple[Record, EventError]] = field(default_factory=list)
    trace_ids: dict[str, str] = field(default_factory=dict)  # plan id -> trace id, for logs
    touched: set[str] = field(default_factory=set)  # centres whose state changed
    routed: list[str] = field(default_factory=list)  # outages whose routes changed
    active_outages: int = 0  # in the cached centres once the batch is applied
    waiting: dict[str, int] = field(default_factory=dict)  # per touched centre, after it



@dataclass(frozen=True)
class Prepared:
    """A batch applied in memory, with the rows that make it durable."""

    records: Sequence[Record]
    result: BatchResult
    rows: BatchRows

def parse(record: Record) -> Parsed:
    try:
        event = parse_event(record.value or b"", INPUT_ADAPTER)
    except EventError as exc:
        return Parsed(record, error=exc)
    expected = TOPIC_OF_TYPE[event.type]
    routed = record.topic == Topic.OUTAGES_BY_CENTRE and expected == Topic.OUTAGES
    if expected != record.topic and not routed:
        return Parsed(record, error=EventError(
            "wrong_topic", f"{event.type} belongs on {TOPIC_OF_TYPE[event.type]}, "
            f"not {record.topic}"))
    if record.topic == Topic.OUTAGES_BY_CENTRE and not event.subject:
        return Parsed(record, error=EventError("schema_invalid", "routed outage has no centre"))
    return Parsed(record, event, None, "" if record.topic == Topic.OUTAGES else centre_of(event))


_topic_of = operator.attrgetter("topic")


def _parse_all(records: Sequence[Record]) -> list[Parsed]:
    return [parse(r) for r in records]


def centre_of(event: CloudEvent[Any]) -> str:
    return str(getattr(event.data, "centre_id", None) or event.subject)


def deadletter_row(record: Record, error: EventError, service: str) -> OutboxRow:
    data = d.DeadLetter(
        topic=record.topic, partition=record.partition, offset=record.offset,
        key=base64.b64encode(record.key).decode() if record.key is not None else None,
        value=base64.b64encode(record.value or b"").decode(),
        error_class=error.kind, error=str(error)[:2000], service=service,
    )
    event = DeadLetterEvent(
        specversion="1.0",
        id=derived_id("deadletter", record.topic, str(record.partition), str(record.offset)),
        source=SOURCE, type="visa.deadletter.v1",
        time=dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC),
        subject="", data=data,
    )
    key = record.key.decode(errors="replace") if record.key else record.topic
    return OutboxRow(record.partition, Topic.DEADLETTER, key, event.to_json())


class Pipeline:
    """Applies batches; caches the state of the centres this instance owns."""

    def __init__(self, store: SchedulerStore, config: PlanningConfig,
                 metrics: Metrics | None = None) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics or Metrics()
        self._centres: dict[str, CentreState] = {}
        self._routes: dict[str, Route] = {}
        self._stale = False
        self.recent_plans: deque[PlanSummary] = deque(maxlen=1000)

    def forget(self) -> None:
        """Drop cached state (partitions revoked, or a commit failed): reload from the store.

        Takes effect when the next batch is prepared: a batch being prepared meanwhile keeps
        a whole cache (its caller drops what it prepares).
        """
        self._stale = True

    async def handle(self, records: Sequence[Record]) -> BatchResult:
        """Apply `records` (in order per partition) and commit them in one transaction."""
        prepared = await self.prepare(records)
        await self.commit(prepared)
        return prepared.result

    async def prepare(self, records: Sequence[Record],
                      offsets: Mapping[TopicPartition, int] | None = None) -> "Prepared":
        """Apply `records` in memory and build the rows that store them; nothing written.

        The cache then holds changes that only `commit` makes durable: if that fails, or
        the prepared batch is dropped, call `forget`.
        """
        # The CPU-bound parts run in a worker thread: the event loop stays free to write the
        # previous batch (each of its statements is a round through the loop) and to fetch.
        parsed = await asyncio.to_thread(_parse_all, records)
        if self._stale:
            self._centres, self._routes, self._stale = {}, {}, False
        await self._load(parsed)
        try:
            result, rows = await asyncio.to_thread(
                self._apply_and_rows, parsed,
                _last_offsets(records) if offsets is None else offsets)
        except BaseException:
            self.forget()  # the cache may hold changes that were never stored
            raise
        return Prepared(records, result, rows)

    def _apply_and_rows(self, parsed: Sequence[Parsed], offsets: Mapping[TopicPartition, int],
                        ) -> tuple[BatchResult, BatchRows]:
        result = self._apply_all(parsed)
        touched = sorted(result.touched)
        routes = {o: self._routes[o] for o in result.routed}
        states = [self._centres[c] for c in touched]
        rows = batch_rows(states, routes, offsets, result.outbox, result.plans)
        for state in states:
            state.clear_dirty()  # the rows hold the changes now
        return result, rows

    async def commit(self, prepared: "Prepared") -> None:
        """Write a prepared batch in one transaction; then its metrics and logs."""
        try:
            await self.store.write(prepared.rows)
        except BaseException:
            self.forget()
            raise
        self._observe(prepared.records, prepared.result)

    async def _load(self, parsed: Iterable[Parsed]) -> None:
        centres, outages = set(), set()
        for p in parsed:
            if p.event is None:
                continue
            if p.centre:
                centres.add(p.centre)
            else:
                outages.add(p.event.data.outage_id)
        missing = centres - self._centres.keys()
        self._centres.update(await self.store.load_centres(missing))
        unknown_routes = outages - self._routes.keys()
        self._routes.update(await self.store.load_routes(unknown_routes))

    def _apply_all(self, parsed: Sequence[Parsed]) -> BatchResult:
        result = BatchResult()
        partition_of: dict[str, int] = {}  # centre -> partition of its last record here
        for p in parsed:
            if p.event is None:
                assert p.error is not None
                result.deadletters.append((p.record, p.error))
                result.outbox.append(deadletter_row(p.record, p.error, "scheduler"))
            elif not p.centre:  # an outage, routed to the centres it names
                result.routed.append(p.event.data.outage_id)
                for copy in route(self._routes, p.event):
                    headers = _routing_trace(p.record, copy)
                    result.outbox.append(OutboxRow(p.record.partition, Topic.OUTAGES_BY_CENTRE,
                                                   copy.subject, copy.to_json(), headers))
            else:
                result.touched.add(p.centre)
                partition_of[p.centre] = p.record.partition
                state = self._centres[p.centre]
                started = time.time_ns()
                events, plans = process(state, p.event, self.config)
                headers = _planning_trace(p.record, p.event, plans, started, result) \
                    if events else ()
                result.plans += plans
                result.outbox += [OutboxRow(p.record.partition, TOPIC_OF_TYPE[e.type],
                                            e.subject, e.to_json(), headers) for e in events]
        for centre, partition in partition_of.items():  # what the batch decides once
            events, plans = settle(self._centres[centre], self.config)
            result.waiting[centre] = len(self._centres[centre].waiting)
            result.plans += plans
            traces = _settle_traces(centre, events)
            result.outbox += [
                OutboxRow(partition, TOPIC_OF_TYPE[e.type], e.subject, e.to_json(),
                          traces.get(getattr(e.data, "outage_id", ""), ())) for e in events]
        result.active_outages = sum(
            1 for s in self._centres.values() for o in s.outages.values() if o.active)
        return result

    def _observe(self, records: Sequence[Record], result: BatchResult) -> None:
        m = self.metrics
        for topic, count in Counter(map(_topic_of, records)).items():
            m.consumed.labels(topic).inc(count)
        for _, error in result.deadletters:
            m.deadletters.labels("scheduler", error.kind).inc()
        self.recent_plans.extend(result.plans)
        for r, error in result.deadletters:
            log.warning("input dead-lettered", topic=r.topic, partition=r.partition,
                        offset=r.offset, error_class=error.kind)
        for p in result.plans:
            log.info("plan committed", plan_id=p.plan_id, centre_id=p.centre_id,
                     outage_id=p.outage_id, displaced=p.displaced, moved=p.moved,
                     unplaced=p.unplaced, status=p.status, solve_ms=p.solve_ms,
                     trace_id=result.trace_ids.get(p.plan_id))
            m.plans.labels(p.status).inc()
            m.solve_seconds.observe(p.solve_ms / 1000)
            if not (p.restored or p.from_waiting):  # a first plan: re-plans count nobody twice
                m.displaced.labels(p.centre_id).inc(p.displaced)
                m.unplaced.labels(p.centre_id).inc(p.unplaced)
            m.moved.labels(p.centre_id).inc(p.moved)
            m.placed_from_waiting.labels(p.centre_id).inc(p.from_waiting)
            m.restored.labels(p.centre_id).inc(p.restored)
            m.gap.set((p.cost - p.bound) / p.cost if p.cost else 0.0)
        m.active_outages.set(result.active_outages)
        for centre, waiting in result.waiting.items():
            m.waiting.labels(centre).set(waiting)


def _routing_trace(record: Record, copy: CloudEvent[Any]) -> Headers:
    """A root span per outage and centre (its own trace id); an upstream trace is linked."""
    outage_id = copy.data.outage_id
    span = tracing.span(
        "reslot.outage.route", parent=tracing.context_of(record.headers),
        trace_id=tracing.outage_trace_id(outage_id, copy.subject), kind=SpanKind.PRODUCER,
        attributes={"reslot.outage_id": outage_id, "reslot.centre_id": copy.subject,
                    "cloudevents.event_id": copy.id, "cloudevents.event_type": copy.type,
                    "messaging.destination.name": str(Topic.OUTAGES_BY_CENTRE)})
    span.end()
    log.info("outage routed", event_id=copy.id, outage_id=outage_id, centre_id=copy.subject,
             trace_id=tracing.trace_id_hex(span))
    return tracing.headers_of(span)


def _planning_trace(record: Record, event: CloudEvent[Any], plans: Sequence[PlanSummary],
                    started_ns: int, result: BatchResult) -> Headers:
    """The span of one input event's outputs, in its outage's trace at its centre."""
    centre = centre_of(event)
    outage_id = plans[0].outage_id if plans else getattr(event.data, "outage_id", None)
    attributes: dict[str, str | int | list[str]] = {
        "reslot.centre_id": centre, "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type, "messaging.source.name": record.topic,
        "messaging.kafka.offset": record.offset,
        "reslot.plan_ids": [p.plan_id for p in plans],
        "reslot.displaced": sum(p.displaced for p in plans),
        "reslot.moved": sum(p.moved for p in plans),
        "reslot.unplaced": sum(p.unplaced for p in plans)}
    if outage_id:
        attributes["reslot.outage_id"] = outage_id
    span = tracing.span(
        "reslot.plan" if plans else "reslot.apply", parent=tracing.context_of(record.headers),
        trace_id=tracing.outage_trace_id(outage_id, centre) if outage_id else None,
        kind=SpanKind.CONSUMER, start_time=started_ns, attributes=attributes)
    span.end()
    trace_id = tracing.trace_id_hex(span)
    if trace_id:
        result.trace_ids.update({p.plan_id: trace_id for p in plans})
    return tracing.headers_of(span)


def _settle_traces(centre: str, events: Sequence[CloudEvent[Any]]) -> dict[str, Headers]:
    """What settle() decided for an outage (re-plans, restores, advice) is in that outage's
    trace at the centre: one span per outage, its context on each of those events."""
    traces = {}
    for outage_id in sorted({getattr(e.data, "outage_id", "") for e in events} - {""}):
        span = tracing.span("reslot.settle", trace_id=tracing.outage_trace_id(outage_id, centre),
                            attributes={"reslot.centre_id": centre, "reslot.outage_id": outage_id})
        span.end()
        traces[outage_id] = tracing.headers_of(span)
    return traces


def _last_offsets(records: Iterable[Record]) -> dict[TopicPartition, int]:
    last: dict[TopicPartition, int] = {}
    for r in records:
        last[(r.topic, r.partition)] = max(r.offset, last.get((r.topic, r.partition), -1))
    return last


SCHEDULER_TOPICS: tuple[str, ...] = (*[str(t) for t in INPUT_TOPICS], str(Topic.OUTAGES))
