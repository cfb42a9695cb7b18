"""OpenTelemetry tracing: W3C trace context carried in Kafka headers.

One trace per outage per centre: the scheduler starts it when it routes an outage event to
a centre, with a trace id derived from (outage id, centre id), so every plan made for that
outage at that centre, whatever event triggered it, and a replay after a crash, land in the
same trace. The `traceparent` header travels with the routed outage, then with the plan's
decisions and notification requests (through the outbox), and the notifier continues it to
the status events it publishes. An upstream `traceparent` on the outage event becomes a
span link. Headers never change an event's id or payload.

`configure()` installs the SDK tracer provider (so context is propagated and logs carry
trace ids); spans leave the process only when the standard variables ask for it:
OTEL_TRACES_EXPORTER (`otlp`, `console`, or any exporter installed under the
`opentelemetry_traces_exporter` entry point; `none` for none), or else
OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, which mean `otlp`:
OTLP over HTTP/protobuf (opentelemetry-exporter-otlp-proto-http, a dependency), which
reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout).
OTEL_SDK_DISABLED=true turns everything off; OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_TRACES_SAMPLER and the OTEL_BSP_* batch settings are honoured by the SDK.
"""

import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util._importlib_metadata import entry_points
from opentelemetry.util.types import AttributeValue

from services.common.ids import derived_id

log = logging.getLogger("reslot.tracing")

Headers = tuple[tuple[str, bytes], ...]
TRACE_HEADERS = ("traceparent", "tracestate")

_PROPAGATOR = TraceContextTextMapPropagator()
_forced_trace_id: ContextVar[int | None] = ContextVar("reslot_forced_trace_id", default=None)
_provider: TracerProvider | None = None


class _OutageIdGenerator(RandomIdGenerator):
    """Random ids, except the trace id of a root span started by `span`(trace_id=...)."""

    def generate_trace_id(self) -> int:
        return _forced_trace_id.get() or super().generate_trace_id()

    def is_trace_id_random(self) -> bool:
        return _forced_trace_id.get() is None


def exporter_names(env: Mapping[str, str] = os.environ) -> list[str]:
    """The exporters the standard variables ask for; none unless asked."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [n for n in named if n]
    if named:
        return [n for n in named if n != "none"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ["otlp"]
    return []


def entry_name(name: str, env: Mapping[str, str] = os.environ) -> str:
    """The installed exporter behind a standard name: `otlp` is OTLP over HTTP/protobuf (the
    one we ship, port 4318) unless OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says grpc."""
    if name != "otlp":
        return name
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
    return "otlp_proto_grpc" if protocol.strip().lower() == "grpc" else "otlp_proto_http"


def _exporter(name: str, env: Mapping[str, str] = os.environ) -> SpanExporter | None:
    found = list(entry_points(group="opentelemetry_traces_exporter",
                              name=entry_name(name, env)))
    if not found:
        log.warning("OTEL_TRACES_EXPORTER=%s: no such exporter is installed (OTLP over gRPC "
                    "needs opentelemetry-exporter-otlp-proto-grpc; we ship OTLP over HTTP); "
                    "spans are not exported", name)
        return None
    exporter: SpanExporter = found[0].load()()
    return exporter


def configure(service_name: str, env: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """Install the tracer provider once (later calls return it); None if OTEL_SDK_DISABLED."""
    global _provider
    if _provider is not None:
        return _provider
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    resource = Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource, id_generator=_OutageIdGenerator())
    for name in exporter_names(env):
        exporter = _exporter(name, env)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
            log.info("tracing: exporting spans with the %s exporter", name)
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def add_processor(processor: SpanProcessor, service_name: str = "reslot") -> None:
    """Send spans to `processor` too (tests: an in-memory exporter); configures if needed."""
    provider = configure(service_name)
    if provider is None:
        raise RuntimeError("tracing is disabled (OTEL_SDK_DISABLED=true)")
    provider.add_span_processor(processor)


def shutdown() -> None:
    """Flush and stop the exporters (at process exit)."""
    if _provider is not None:
        _provider.shutdown()


def tracer() -> trace.Tracer:
    return trace.get_tracer("reslot")


def outage_trace_id(outage_id: str, centre_id: str) -> int:
    """The trace id of everything done for one outage at one centre."""
    return uuid.UUID(derived_id("trace", outage_id, centre_id)).int


def context_of(headers: Iterable[tuple[str, bytes | None]] | None) -> otel_context.Context:
    """The trace context carried by Kafka headers (empty when there is none)."""
    carrier = {k.lower(): (v or b"").decode("ascii", "replace")
               for k, v in headers or () if k.lower() in TRACE_HEADERS}
    return _PROPAGATOR.extract(carrier) if carrier else otel_context.Context()


def headers_of(span: Span) -> Headers:
    """The `traceparent` (and `tracestate`) headers that continue `span` downstream."""
    if not span.get_span_context().is_valid:
        return ()
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return tuple((k, v.encode()) for k, v in sorted(carrier.items()))


def trace_id_hex(span: Span) -> str | None:
    ctx = span.get_span_context()
    return trace.format_trace_id(ctx.trace_id) if ctx.is_valid else None


def span(name: str, *, parent: otel_context.Context | None = None, trace_id: int | None = None,
         kind: SpanKind = SpanKind.INTERNAL, start_time: int | None = None,
         attributes: Mapping[str, AttributeValue] | None = None) -> Span:
    """Start (not end) a span.

    With `trace_id`, the span belongs to that trace: a child of `parent` when `parent` is in
    it, otherwise a root with that id, linked to `parent` (an upstream trace) if any.
    Without, a child of `parent`, or a new trace.
    """
    parent_span = trace.get_current_span(parent or otel_context.Context()).get_span_context()
    links: Sequence[Link] = ()
    token = None
    if trace_id is not None and (not parent_span.is_valid or parent_span.trace_id != trace_id):
        links = (Link(parent_span),) if parent_span.is_valid else ()
        parent = otel_context.Context()
        token = _forced_trace_id.set(trace_id)
    try:
        return tracer().start_span(name, context=parent or otel_context.Context(), kind=kind,
                                   attributes=dict(attributes or {}), links=links,
                                   start_time=start_time)
    finally:
        if token is not None:
            _forced_trace_id.reset(token)


def current_ids() -> dict[str, Any]:
    """trace_id and span_id of the current span, for log lines; empty outside any span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": trace.format_trace_id(ctx.trace_id),
            "span_id": trace.format_span_id(ctx.span_id)}
