"""`reslot dev [--demo]`: broker, topics, scheduler, notifier, sinks and status page in one go.

With --demo it publishes the Capago scenario (calendars and bookings first, then the
portal outages once the scheduler has read the calendars, as in real life), and prints
each plan as it completes and how many messages went out. Ctrl-C stops everything.
"""

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import CollectorRegistry

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics
from services.common.local_broker import free_port
from services.common.metrics import Metrics
from services.common.publish import publish, validate_lines
from services.common.settings import Settings
from services.scheduler.app import create_app
from services.web.app import front_for
from services.web.readmodel import ReadModel
from services.web.server import serve

log = logging.getLogger("reslot.dev")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def sinks_to_start(settings: Settings) -> tuple[bool, bool]:
    """(SMTP, SMS): whether `reslot dev` must start a sink of its own for each, because none
    is configured (RESLOT_SMTP_HOST / RESLOT_SMTP_PORT, RESLOT_SMS_URL left unset)."""
    configured = settings.model_fields_set
    return not configured & {"smtp_host", "smtp_port"}, "sms_url" not in configured


@contextlib.asynccontextmanager
async def message_sinks(settings: Settings) -> AsyncIterator[Settings]:
    """The settings with somewhere to send messages: the configured SMTP server and SMS
    gateway, else local sinks started here (and stopped on exit), as for the broker."""
    from services.notifier.sms_sink import SmsSink
    from services.notifier.smtp_sink import SmtpSink

    smtp_needed, sms_needed = sinks_to_start(settings)
    update: dict[str, object] = {}
    async with contextlib.AsyncExitStack() as started:
        if smtp_needed:
            smtp = await SmtpSink().start()
            started.push_async_callback(smtp.stop)
            update.update(smtp_host="127.0.0.1", smtp_port=smtp.port)
        if sms_needed:
            sms = await SmsSink().start()
            started.push_async_callback(sms.stop)
            update["sms_url"] = sms.url
        settings = settings.model_copy(update=update)
        print(f"  E-mail to:   {settings.smtp_host}:{settings.smtp_port}"
              f" ({'a local sink' if smtp_needed else 'configured'})\n"
              f"  SMS to:      {settings.sms_url}"
              f" ({'a local sink' if sms_needed else 'configured'})", flush=True)
        yield settings


async def run_dev(settings: Settings, stop: asyncio.Event, demo: bool, scenario: Path) -> None:
    """Everything of Reslot in this process until `stop` is set."""
    from services.notifier.app import run_notifier
    from services.notifier.metrics import NotifierMetrics

    await ensure_topics(settings)
    port = settings.http_port if _port_free(settings.http_port) else free_port()
    async with message_sinks(settings.model_copy(update={"http_port": port})) as settings:
        metrics = Metrics()
        notifier_metrics = NotifierMetrics()
        scheduler = create_app(settings, metrics=metrics)
        queries = ReadModel(scheduler.store.engine)
        app = front_for(settings, scheduler.store.engine, metrics.registry,
                        more_probes={"scheduler": scheduler.ready})
        tasks = [
            asyncio.create_task(scheduler.run(stop), name="scheduler"),
            asyncio.create_task(run_notifier(settings, stop, metrics=notifier_metrics),
                                name="notifier"),
            asyncio.create_task(serve(app, port, stop), name="status"),
        ]
        url = f"http://127.0.0.1:{port}"
        print(f"\n  Reslot is running (Ctrl-C stops).\n"
              f"  Status page:  {url}/\n"
              f"  API:          {url}/api/outages  {url}/api/plans  {url}/openapi.json\n"
              f"  Metrics:      {url}/metrics\n"
              f"  Broker:       {settings.kafka.bootstrap_servers}\n", flush=True)
        if demo:
            tasks.append(asyncio.create_task(_play(
                settings, scenario, metrics, queries, notifier_metrics.registry, stop, url),
                name="demo"))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None and not stop.is_set():
                log.error("%s failed: %r", task.get_name(), task.exception())
                stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    print("Reslot stopped.", flush=True)


async def _play(settings: Settings, scenario: Path, metrics: Metrics, queries: ReadModel,
                delivered: CollectorRegistry, stop: asyncio.Event, url: str) -> None:
    with scenario.open(encoding="utf-8") as f:
        messages, errors = validate_lines(f)
    if errors:
        raise ValueError(f"{scenario}:{errors[0].number}: {errors[0].reason}")
    calendars = [m for m in messages if m.topic != Topic.OUTAGES]
    outages = [m for m in messages if m.topic == Topic.OUTAGES]
    print(f"demo: publishing {len(calendars)} centre, slot and booking events", flush=True)
    await publish(settings, calendars)
    await _wait_consumed(metrics, len(calendars), stop)
    print(f"demo: the scheduler has read every calendar; declaring {len(outages)} "
          "France-Visas portal outages", flush=True)
    await publish(settings, outages)
    declared = [json.loads(m.value) for m in outages]
    expected = sum(len(e["data"].get("centre_ids") or ()) for e in declared
                   if e["type"] == "visa.outage.declared.v1")
    await _report(queries, delivered, stop, expected, url)


PUBLIC_INPUTS = (Topic.CENTRES, Topic.CAPACITY, Topic.BOOKINGS)  # read once each


def _consumed(metrics: Metrics) -> int:
    total = 0.0
    for metric in metrics.consumed.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("topic") in PUBLIC_INPUTS:
                total += sample.value
    return int(total)


async def _wait_consumed(metrics: Metrics, expected: int, stop: asyncio.Event) -> None:
    last = -1
    while not stop.is_set():
        seen = _consumed(metrics)
        if seen != last:
            print(f"demo: scheduler consumed {seen}/{expected} events", flush=True)
            last = seen
        if seen >= expected:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def _delivered(registry: CollectorRegistry) -> tuple[int, int]:
    """(e-mails, SMS) delivered, from the notifier's metrics: wherever they were sent."""
    sent = {"email": 0.0, "sms": 0.0}
    for metric in registry.collect():
        for sample in metric.samples:
            if (sample.name == "reslot_notifications_total"
                    and sample.labels.get("outcome") == "delivered"
                    and sample.labels.get("channel") in sent):
                sent[sample.labels["channel"]] += sample.value
    return int(sent["email"]), int(sent["sms"])


async def _report(queries: ReadModel, delivered: CollectorRegistry,
                  stop: asyncio.Event, expected_plans: int, url: str) -> None:
    """A line per plan as it completes, the messages delivered as they go, then totals once
    every expected plan is made and no message went out for a few seconds."""
    shown: set[str] = set()
    last_sent = (-1, -1)
    quiet_s = 0
    summarised = False
    while not stop.is_set():
        plans = sorted((p.model_dump() for p in await queries.plans()),
                       key=lambda p: (p["outage_id"], p["centre_id"]))
        for p in plans:
            if p["plan_id"] in shown:
                continue
            shown.add(p["plan_id"])
            gap = (p["cost"] - p["bound"]) / p["cost"] if p["cost"] else 0.0
            print(f"plan {len(shown)}/{expected_plans}  {p['outage_id']} @ {p['centre_id']}: "
                  f"displaced {p['displaced']}, moved {p['moved']}, unplaced {p['unplaced']}  "
                  f"(cost {p['cost']}, gap {gap:.2%}, {p['status']}, {p['solve_ms']} ms)",
                  flush=True)
        sent = _delivered(delivered)
        if sent != last_sent:
            print(f"messages delivered: {sent[0]} e-mails, {sent[1]} SMS", flush=True)
            last_sent, quiet_s = sent, 0
        else:
            quiet_s += 1
        # done: every plan made, and messages have gone out and stopped (or never started)
        settled = quiet_s >= (3 if sum(sent) else 15)
        if not summarised and len(shown) >= expected_plans and settled:
            summarised = True
            total = {k: sum(p[k] for p in plans) for k in ("displaced", "moved", "unplaced")}
            call = " (the centres must call them)" if total["unplaced"] else ""
            print(f"\ndemo done: {len(shown)} plans; {total['displaced']} appointments "
                  f"displaced, {total['moved']} moved, {total['unplaced']} unplaced{call}; "
                  f"{sent[0]} e-mails and {sent[1]} SMS delivered.\n"
                  f"Status page: {url}/   (Ctrl-C stops)", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


__all__ = ["Outgoing", "message_sinks", "run_dev", "sinks_to_start"]
