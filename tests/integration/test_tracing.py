"""Tracing end to end on the local broker: the W3C trace context goes from an outage event,
through the scheduler (routing, plan, decisions, notification requests, via the outbox) and
the notifier, to the status events of those notifications; one trace per outage per centre.
Spans are caught by an in-memory exporter; event ids and payloads are those `reslot plan`
gives for the same lines, which carry no headers. The JSON log lines of the run carry the
ids and no personal data."""

import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas.topics import Topic
from services.common import tracing
from services.common.clock import ShiftedClock
from services.common.kafka import Outgoing, make_producer, publish_all
from services.notifier.app import start_notifier
from services.notifier.options import NotifierOptions
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.scheduler.app import planning_config
from services.scheduler.dryrun import dry_run
from services.scheduler.pipeline import Pipeline
from tests.conftest import eventually
from tests.integration.status_harness import (
    ALGER,
    ORAN,
    OUTAGE,
    messages_of,
    play_calendars,
    scenario_lines,
    scheduler_on_local_broker,
)
from tests.kafka_helpers import read_records

pytestmark = pytest.mark.integration

UPSTREAM_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
UPSTREAM = f"00-{UPSTREAM_TRACE}-00f067aa0ba902b7-01"
Read = tuple[dict[str, Any], dict[str, str]]  # event, headers


async def read_with_headers(bootstrap: str, topic: str) -> list[Read]:
    return [(json.loads(r.value or b"null"), {k: v.decode() for k, v in r.headers or ()})
            for r in await read_records(bootstrap, topic)]


def trace_of(headers: dict[str, str]) -> str:
    assert "traceparent" in headers, headers
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert (version, len(trace_id), len(span_id), len(flags)) == ("00", 32, 16, 2)
    return trace_id


def expected_trace(centre_id: str) -> str:
    return trace.format_trace_id(tracing.outage_trace_id(OUTAGE, centre_id))


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracing.add_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # spans of later tests are dropped


@pytest.fixture
async def sinks() -> AsyncIterator[tuple[SmtpSink, SmsSink]]:
    smtp, sms = await SmtpSink().start(), await SmsSink().start()
    yield smtp, sms
    await smtp.stop()
    await sms.stop()


async def test_one_trace_per_outage_and_centre_from_outage_to_status_events(
        tmp_path: Path, exporter: InMemorySpanExporter, json_logs: io.StringIO,
        sinks: tuple[SmtpSink, SmsSink]) -> None:
    smtp, sms = sinks
    calendars, outages = scenario_lines()
    async with scheduler_on_local_broker(tmp_path) as run:
        bootstrap = run.settings.kafka.bootstrap_servers or ""
        settings = run.settings.model_copy(update={
            "smtp_port": smtp.port, "sms_url": sms.url,
            "notifier_database_url": f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}"})
        notifier = await start_notifier(
            settings, options=NotifierOptions(instance_id="trace-test", session_timeout_ms=6000,
                                              heartbeat_interval_ms=1000),
            # daytime in Algiers: no SMS held for quiet hours
            clock=ShiftedClock(dt.datetime(2025, 11, 26, 10, 0, tzinfo=ZoneInfo("Africa/Algiers"))))
        try:
            await play_calendars(run, calendars)
            producer = make_producer(run.settings)
            await producer.start()
            try:  # the outage arrives with an upstream producer's trace context
                await publish_all(producer, [
                    Outgoing(m.topic, m.key, m.value, (("traceparent", UPSTREAM.encode()),))
                    for m in messages_of(outages)])
            finally:
                await producer.stop()

            async def all_reported() -> list[Read]:
                notes = await read_with_headers(bootstrap, Topic.NOTIFICATIONS)
                status = await read_with_headers(bootstrap, Topic.NOTIFICATION_STATUS)
                wanted = {(n["data"]["notification_id"], c) for n, _ in notes
                          for c in ("email", "sms")}
                got = {(s["data"]["notification_id"], s["data"]["channel"]) for s, _ in status}
                return status if notes and got >= wanted else []

            statuses = await eventually(all_reported, timeout=45)
        finally:
            await notifier.stop()
        routed = await read_with_headers(bootstrap, Topic.OUTAGES_BY_CENTRE)
        decisions = await read_with_headers(bootstrap, Topic.RESCHEDULES)
        notes = await read_with_headers(bootstrap, Topic.NOTIFICATIONS)

    # -- the headers: every event of an outage at a centre is in that pair's trace ---------
    assert sorted(e["subject"] for e, _ in routed) == [ALGER, ORAN]
    for event, headers in routed + decisions + notes:
        centre_id = event["subject"]
        assert trace_of(headers) == expected_trace(centre_id), (event["type"], centre_id)
    assert len(notes) == 14  # 8 + 6 displaced, one request each
    centre_of_note = {n["data"]["notification_id"]: n["subject"] for n, _ in notes}
    assert statuses
    assert {s["data"]["notification_id"] for s, _ in statuses} == set(centre_of_note)
    for status, headers in statuses:
        centre_id = centre_of_note[status["data"]["notification_id"]]
        assert trace_of(headers) == expected_trace(centre_id), status
    assert expected_trace(ALGER) != expected_trace(ORAN)

    # -- the spans: route -> plan -> accept (per request) -> status (per channel) -------------
    spans = exporter.get_finished_spans()
    by_trace: dict[str, list[ReadableSpan]] = defaultdict(list)
    for s in spans:
        assert s.context is not None
        by_trace[trace.format_trace_id(s.context.trace_id)].append(s)
    for centre_id in (ALGER, ORAN):
        mine = by_trace[expected_trace(centre_id)]
        names = defaultdict(list)
        for s in mine:
            names[s.name].append(s)
        (route,) = names["reslot.outage.route"]
        assert route.parent is None  # a root: its own trace, per outage and centre ...
        assert route.attributes is not None
        assert route.attributes["reslot.centre_id"] == centre_id
        assert [trace.format_trace_id(link.context.trace_id) for link in route.links] == \
            [UPSTREAM_TRACE]  # ... linked to the upstream producer's trace
        (plan,) = names["reslot.plan"]
        assert route.context is not None
        assert plan.parent is not None
        assert plan.parent.span_id == route.context.span_id
        assert plan.attributes is not None
        assert plan.attributes["reslot.outage_id"] == OUTAGE
        accepts = names["reslot.notification.accept"]
        assert len(accepts) == sum(1 for c in centre_of_note.values() if c == centre_id)
        assert plan.context is not None
        assert all(a.parent is not None and a.parent.span_id == plan.context.span_id
                   for a in accepts)
        accept_ids = {a.context.span_id for a in accepts if a.context is not None}
        statuses_here = names["reslot.notification.status"]
        assert len(statuses_here) == 2 * len(accepts)  # e-mail and SMS
        assert all(s.parent is not None and s.parent.span_id in accept_ids
                   for s in statuses_here)
    assert UPSTREAM_TRACE not in by_trace  # the upstream trace is linked, not continued

    # -- determinism: the same ids and payloads as `reslot plan`, whose input has no headers
    config = planning_config(run.settings)
    planned = await dry_run(calendars + outages, lambda store: Pipeline(store, config))
    expected = {e["id"]: e for e in (json.loads(r.value) for r in planned)}
    assert {e["id"] for e, _ in decisions + notes} == set(expected)
    for event, _ in decisions + notes:
        if event["type"] == "visa.plan.completed.v1":  # the solver's wall time differs
            event["data"].pop("solve_ms")
            expected[event["id"]]["data"].pop("solve_ms")
        assert event == expected[event["id"]]

    # -- the logs: JSON lines with the ids, the trace, and no personal data -----------------
    lines = [json.loads(x) for x in json_logs.getvalue().splitlines() if x.startswith("{")]
    committed = [x for x in lines if x["event"] == "plan committed"]
    assert {x["centre_id"] for x in committed} >= {ALGER, ORAN}
    for x in committed:
        assert x["outage_id"] == OUTAGE
        assert x["plan_id"]
        assert x["level"] == "info"
        assert x["trace_id"] == expected_trace(x["centre_id"])
    routed_lines = [x for x in lines if x["event"] == "outage routed"]
    assert {x["centre_id"] for x in routed_lines} >= {ALGER, ORAN}
    assert all(x["event_id"] and x["trace_id"] for x in routed_lines)
    delivered = [x for x in lines if x["event"] == "notification delivered"]
    assert len(delivered) >= 28
    assert all(x["booking_id"] for x in delivered)
    text = json_logs.getvalue()
    for personal in ("Amine Benali", "@example.dz", "+213555000111", "213555000111"):
        assert personal not in text, personal
