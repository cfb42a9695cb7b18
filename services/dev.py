"""`reslot dev [--demo]`: broker, topics, scheduler, notifier, sinks and status page in one go.

With --demo it publishes the Capago scenario (calendars and bookings first, then the
portal outages once the scheduler has read the calendars, as in real life), and prints
each plan as it completes and how many messages went out. Ctrl-C stops everything.
"""

import asyncio
import contextlib
import json
import logging
import signal
import socket
from pathlib import Path

from schemas.topics import Topic
from services.common.http import serve
from services.common.kafka import Outgoing, ensure_topics
from services.common.local_broker import free_port
from services.common.metrics import Metrics
from services.common.publish import publish, validate_lines
from services.common.settings import Settings
from services.scheduler.app import run_scheduler
from services.scheduler.status import status_app
from services.scheduler.store.sql import SchedulerStore, StatusQueries

log = logging.getLogger("reslot.dev")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


async def run_dev(settings: Settings, demo: bool, scenario: Path) -> None:
    from services.notifier.app import create_app
    from services.notifier.sms_sink import SmsSink
    from services.notifier.smtp_sink import SmtpSink

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await ensure_topics(settings)
    smtp, sms = SmtpSink(), SmsSink()
    await smtp.start()
    await sms.start()
    port = settings.http_port if _port_free(settings.http_port) else free_port()
    settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                           "sms_url": sms.url, "http_port": port})
    metrics = Metrics()
    store = await SchedulerStore.open(settings.database_url)  # creates the tables first
    queries = StatusQueries(store.engine)
    app = status_app(settings, store, metrics.registry)
    tasks = [
        asyncio.create_task(run_scheduler(settings, stop, metrics), name="scheduler"),
        asyncio.create_task(create_app(settings).run(stop), name="notifier"),
        asyncio.create_task(serve(app, port, stop), name="status"),
    ]
    url = f"http://127.0.0.1:{port}"
    print(f"\n  Reslot is running (Ctrl-C stops).\n"
          f"  Status page:  {url}/\n"
          f"  API:          {url}/api/outages  {url}/api/plans  {url}/openapi.json\n"
          f"  Metrics:      {url}/metrics\n"
          f"  Broker:       {settings.kafka.bootstrap_servers}\n", flush=True)
    if demo:
        tasks.append(asyncio.create_task(_play(settings, scenario, metrics, queries, smtp, sms,
                                               stop, url), name="demo"))
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        if task.exception() is not None and not stop.is_set():
            log.error("%s failed: %r", task.get_name(), task.exception())
            stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await smtp.stop()
    await sms.stop()
    await store.close()
    print("Reslot stopped.", flush=True)


async def _play(settings: Settings, scenario: Path, metrics: Metrics, queries: StatusQueries,
                smtp: "object", sms: "object", stop: asyncio.Event, url: str) -> None:
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
    await _report(queries, smtp, sms, stop, expected, url)


def _consumed(metrics: Metrics) -> int:
    total = 0.0
    for metric in metrics.consumed.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("topic") != Topic.OUTAGES:
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


async def _report(queries: StatusQueries, smtp: "object", sms: "object",
                  stop: asyncio.Event, expected_plans: int, url: str) -> None:
    """A line per plan as it completes, the messages delivered as they go, then totals once
    every expected plan is made and no message went out for a few seconds."""
    shown: set[str] = set()
    last_sent = (-1, -1)
    quiet_s = 0
    summarised = False
    while not stop.is_set():
        plans = sorted(await queries.plans(), key=lambda p: (p["outage_id"], p["centre_id"]))
        for p in plans:
            if p["plan_id"] in shown:
                continue
            shown.add(p["plan_id"])
            gap = (p["cost"] - p["bound"]) / p["cost"] if p["cost"] else 0.0
            print(f"plan {len(shown)}/{expected_plans}  {p['outage_id']} @ {p['centre_id']}: "
                  f"displaced {p['displaced']}, moved {p['moved']}, unplaced {p['unplaced']}  "
                  f"(cost {p['cost']}, gap {gap:.2%}, {p['status']}, {p['solve_ms']} ms)",
                  flush=True)
        sent = (len(getattr(smtp, "messages", [])), len(getattr(sms, "messages", [])))
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


__all__ = ["Outgoing", "run_dev"]
