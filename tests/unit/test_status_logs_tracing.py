"""Log lines (JSON, ids, no personal data) and trace context helpers, without any service."""

import io
import json
import logging

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from services.common import logs, tracing


def parsed(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(x) for x in buffer.getvalue().splitlines()]


def test_structlog_and_stdlib_lines_are_json_with_their_fields(json_logs: io.StringIO) -> None:
    structlog.get_logger("reslot.test").info("plan committed", plan_id="p1", centre_id="c1",
                                             outage_id="o1", moved=3)
    logging.getLogger("reslot.test").warning("gap on %s[%d]", "visa.bookings.v1", 2)
    first, second = parsed(json_logs)
    assert first["event"] == "plan committed"
    assert first["level"] == "info"
    assert (first["plan_id"], first["centre_id"], first["outage_id"], first["moved"]) == \
        ("p1", "c1", "o1", 3)
    assert first["logger"] == "reslot.test"
    assert str(first["timestamp"]).endswith("Z")
    assert second["event"] == "gap on visa.bookings.v1[2]"
    assert second["level"] == "warning"


def test_no_personal_data_whatever_the_caller_passes(json_logs: io.StringIO) -> None:
    log = structlog.get_logger("reslot.test")
    log.info("sending", booking_id="BK-1", name="Amel Benali", email="amel@example.dz",
             phone="+213 555 00 01 11", recipient={"name": "Amel Benali", "email": "a@b.dz"})
    log.warning("smtp refused", error="550 <amel@example.dz>: mailbox unavailable",
                details=["to +213555000111", "ok"])
    logging.getLogger("reslot.test").info("sms to %s failed", "+213555000111")
    try:
        raise ValueError("no route to amel@example.dz")
    except ValueError:
        log.exception("send crashed", booking_id="BK-1")
    text = json_logs.getvalue()
    for personal in ("Amel", "Benali", "amel@example.dz", "a@b.dz", "213555000111",
                     "555 00 01 11"):
        assert personal not in text, personal
    records = parsed(json_logs)
    assert records[0]["booking_id"] == "BK-1"
    assert "recipient" not in records[0]
    assert records[1]["error"] == "550 <[e-mail]>: mailbox unavailable"
    assert records[1]["details"] == ["to [phone]", "ok"]
    assert records[2]["event"] == "sms to [phone] failed"
    assert "ValueError: no route to [e-mail]" in str(records[3]["exception"])
    # times, offsets and ids are not mistaken for phone numbers
    assert logs.mask("2025-12-03T14:30:00+01:00 plan 187dd1d8-4073") == \
        "2025-12-03T14:30:00+01:00 plan 187dd1d8-4073"


def test_lines_inside_a_span_carry_its_trace_id(json_logs: io.StringIO) -> None:
    tracing.configure("reslot-test")
    span = tracing.span("work", trace_id=tracing.outage_trace_id("o1", "c1"))
    with trace.use_span(span, end_on_exit=True):
        structlog.get_logger("reslot.test").info("inside")
    structlog.get_logger("reslot.test").info("outside")
    inside, outside = parsed(json_logs)
    assert inside["trace_id"] == trace.format_trace_id(tracing.outage_trace_id("o1", "c1"))
    assert len(str(inside["span_id"])) == 16
    assert "trace_id" not in outside


@pytest.mark.parametrize(("env", "names"), [
    ({}, []),
    ({"OTEL_TRACES_EXPORTER": "none"}, []),
    ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
    ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ["otlp", "console"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, []),
])
def test_exporters_only_when_the_standard_variables_ask(env: dict[str, str],
                                                        names: list[str]) -> None:
    assert tracing.exporter_names(env) == names


def test_exporters_are_found_by_their_standard_names() -> None:
    assert isinstance(tracing._exporter("console"), ConsoleSpanExporter)
    assert tracing._exporter("no-such-exporter") is None  # a warning, not a crash


def test_trace_context_round_trips_through_kafka_headers() -> None:
    tracing.configure("reslot-test")
    outage_trace = tracing.outage_trace_id("o1", "c1")
    root = tracing.span("route", trace_id=outage_trace)
    headers = tracing.headers_of(root)
    assert [k for k, _ in headers] == ["traceparent"]
    assert headers[0][1].decode().split("-")[1] == trace.format_trace_id(outage_trace)
    child = tracing.span("plan", parent=tracing.context_of(headers), trace_id=outage_trace)
    assert child.get_span_context().trace_id == outage_trace
    assert child.parent is not None  # type: ignore[attr-defined]
    assert child.parent.span_id == root.get_span_context().span_id  # type: ignore[attr-defined]
    # another trace upstream: a new root in the outage's trace, linked to it
    upstream = ((("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),))
    linked = tracing.span("route", parent=tracing.context_of(upstream), trace_id=outage_trace)
    assert linked.get_span_context().trace_id == outage_trace
    assert linked.parent is None  # type: ignore[attr-defined]
    assert [trace.format_trace_id(link.context.trace_id)
            for link in linked.links] == ["4bf92f3577b34da6a3ce929d0e0e4736"]  # type: ignore[attr-defined]
    # the same outage and centre always give the same trace; others another
    assert tracing.outage_trace_id("o1", "c1") == outage_trace
    assert tracing.outage_trace_id("o1", "c2") != outage_trace
    for s in (root, child, linked):
        s.end()


def test_bad_or_missing_headers_give_no_context() -> None:
    for headers in (None, (), (("traceparent", b"garbage"),), (("traceparent", None),),
                    (("other", b"x"),)):
        context = tracing.context_of(headers)
        assert not trace.get_current_span(context).get_span_context().is_valid
