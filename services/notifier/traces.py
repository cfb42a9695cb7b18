"""Trace context of the notifications seen lately, kept to continue their traces to their
status events (a status published after a restart starts no span: the context is not
stored)."""

from collections import OrderedDict

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from services.common import tracing
from services.notifier.store import OutboxRow

Headers = tuple[tuple[str, bytes], ...]

KEPT = 50_000


class Traces:
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._contexts: OrderedDict[str, otel_context.Context] = OrderedDict()

    def keep(self, notification_id: str, span: Span) -> None:
        """The span that accepted a notification: the parent of its status events."""
        if not span.get_span_context().is_valid:
            return
        self._contexts[notification_id] = trace.set_span_in_context(span)
        self._contexts.move_to_end(notification_id)
        while len(self._contexts) > self._kept:
            self._contexts.popitem(last=False)

    def status_span(self, row: OutboxRow) -> tuple[Span | None, Headers]:
        """A producer span for publishing `row`, and the headers that carry it; none when the
        notification's trace is not known here."""
        parent = self._contexts.get(row.notification_id)
        if parent is None:
            return None, ()
        span = tracing.span(
            "reslot.notification.status", parent=parent, kind=SpanKind.PRODUCER,
            attributes={"cloudevents.event_id": row.event_id,
                        "cloudevents.event_type": row.event_type,
                        "reslot.centre_id": row.centre_id,
                        "reslot.notification_id": row.notification_id,
                        "reslot.channel": row.channel})
        return span, tracing.headers_of(span)
