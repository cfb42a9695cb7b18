"""What the scheduler tells operations: tracing spans, log lines and Prometheus metrics.

Spans are made while a batch is applied (their context travels in the outbox rows'
headers); logs and metrics only once the batch is committed, so they never report what was
not stored.
"""

import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from opentelemetry.trace import SpanKind

from schemas.envelope import CloudEvent, EventError
from schemas.topics import Topic
from services.common import tracing
from services.common.metrics import Metrics
from services.common.tracing import Headers
from services.scheduler.domain.state import PlanSummary
from services.scheduler.parsing import Record, centre_of
from services.scheduler.store.rows import OutboxRow

log = structlog.get_logger("reslot.scheduler")
_topic_of = operator.attrgetter("topic")


@dataclass
class BatchResult:
    outbox: list[OutboxRow] = field(default_factory=list)
    plans: list[PlanSummary] = field(default_factory=list)
    deadletters: list[tuple[Record, EventError]] = field(default_factory=list)
    trace_ids: dict[str, str] = field(default_factory=dict)  # plan id -> trace id, for logs
    touched: set[str] = field(default_factory=set)  # centres whose state changed
    routed: list[str] = field(default_factory=list)  # outages whose routes changed
    forwarded: list[Record] = field(default_factory=list)  # handed to their owner partition
    duplicates: list[Record] = field(default_factory=list)  # internal copies already applied
    active_outages: int = 0  # in the cached centres once the batch is applied
    waiting: dict[str, int] = field(default_factory=dict)  # per touched centre, after it


def routing_trace(record: Record, copy: CloudEvent[Any]) -> Headers:
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


def planning_trace(record: Record, event: CloudEvent[Any], plans: Sequence[PlanSummary],
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


def observe(metrics: Metrics, records: Sequence[Record], result: BatchResult) -> None:
    """Metrics and log lines of a committed batch."""
    m = metrics
    for topic, count in Counter(map(_topic_of, records)).items():
        m.consumed.labels(topic).inc(count)
    for r in result.forwarded:
        m.forwarded.labels(r.topic).inc()
    for r in result.duplicates:
        m.duplicates.labels(r.topic).inc()
    if result.forwarded:
        log.debug("inputs forwarded to their centre's partition", count=len(result.forwarded))
    for r, error in result.deadletters:
        m.deadletters.labels("scheduler", error.kind).inc()
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


def settle_traces(centre: str, events: Sequence[CloudEvent[Any]]) -> dict[str, Headers]:
    """What settle() decided for an outage (re-plans, restores, advice) is in that outage's
    trace at the centre: one span per outage, its context on each of those events."""
    traces = {}
    for outage_id in sorted({getattr(e.data, "outage_id", "") for e in events} - {""}):
        span = tracing.span("reslot.settle", trace_id=tracing.outage_trace_id(outage_id, centre),
                            attributes={"reslot.centre_id": centre, "reslot.outage_id": outage_id})
        span.end()
        traces[outage_id] = tracing.headers_of(span)
    return traces
