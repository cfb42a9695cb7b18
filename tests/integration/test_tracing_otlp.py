"""Spans leave the process over OTLP/HTTP when the standard variables ask: a real HTTP
receiver on loopback gets the protobuf export request the collector would."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from services.common import tracing


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[str]:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_spans_are_exported_over_otlp_http(collector: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)  # read by the exporter
    assert tracing.exporter_names(env) == ["otlp"]
    exporter = tracing._exporter("otlp", env)
    assert exporter is not None
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("reslot").start_span(
        "reslot.plan", attributes={"reslot.centre_id": "capago-alger"})
    span.end()
    assert provider.force_flush()
    provider.shutdown()

    ((path, content_type, body),) = _Collector.received
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    spans = [s for r in request.resource_spans for ss in r.scope_spans for s in ss.spans]
    assert [s.name for s in spans] == ["reslot.plan"]
    assert spans[0].trace_id == span.get_span_context().trace_id.to_bytes(16, "big")
    assert {a.key: a.value.string_value for a in spans[0].attributes} == {
        "reslot.centre_id": "capago-alger"}


@pytest.mark.parametrize(("env", "entry"), [
    ({}, "otlp_proto_http"),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "otlp_proto_http"),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "otlp_proto_grpc"),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":
      "http/protobuf"}, "otlp_proto_http"),
])
def test_otlp_means_the_protocol_the_variables_name(env: dict[str, str], entry: str) -> None:
    assert tracing.entry_name("otlp", env) == entry
    assert tracing.entry_name("console", env) == "console"


def test_otlp_over_grpc_is_not_shipped_and_says_so() -> None:
    assert tracing._exporter("otlp", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) is None
