"""Part (c): from publishing ONE outage to the LAST notification-status event.

A generated centre (the solver's seeded instance as events: calendar, bookings in the outage
window, free slots elsewhere) on a fresh broker; the real scheduler and notifier in-process,
with the SMTP and SMS sinks on loopback, rate limits high and quiet hours off. The calendar
is published and applied first; the clock runs from the outage's publication until as many
status events arrived as the plan's notifications have channels (two each: e-mail and SMS).
"""

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import processes
from bench.events import OutageScenario, outage_scenario
from bench.kafka_io import TopicWatch, group_stable, producer_of, send_all
from bench.stores import wait_applied
from schemas.topics import Topic
from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings, Settings
from services.notifier.app import start_notifier
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.scheduler.app import run_scheduler
from services.scheduler.store.sql import SchedulerStore

PLAN = "visa.plan.completed.v1"
REQUESTED = "visa.notification.requested.v1"
STATUS = ("visa.notification.delivered.v1", "visa.notification.failed.v1")
WATCHED = (Topic.RESCHEDULES, Topic.NOTIFICATIONS, Topic.NOTIFICATION_STATUS)
CHANNELS = 2  # every generated applicant has an e-mail address and a phone


@dataclass
class Rig:
    """A fresh broker, the sinks, and the settings every service of one run shares."""

    settings: Settings
    smtp: SmtpSink
    sms: SmsSink
    workdir: Path


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    broker = processes.new_broker()
    smtp, sms = SmtpSink(), SmsSink()
    try:
        await smtp.start()
        await sms.start()
        with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
            settings = Settings(
                kafka=KafkaSettings(bootstrap_servers=broker.bootstrap),
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'scheduler.db'}",
                smtp_host="127.0.0.1", smtp_port=smtp.port, sms_url=sms.url,
                sms_rate_per_s=100_000, email_rate_per_s=100_000,
                quiet_hours_start=0, quiet_hours_end=0,
            )
            await ensure_topics(settings)
            yield Rig(settings, smtp, sms, Path(tmp))
    finally:
        await sms.stop()
        await smtp.stop()
        broker.stop()


async def play(r: Rig, scenario: OutageScenario, alive: Callable[[], None],
               timeout_s: float = 300.0) -> dict[str, Any]:
    """Calendar in and applied, then the outage; timings until the last status event.

    The services must be running (or starting): `alive` raises if one of them died.
    """
    bootstrap = r.settings.kafka.bootstrap_servers or ""
    reader = await SchedulerStore.open(r.settings.database_url)
    watch = TopicWatch(bootstrap, WATCHED, keep=(PLAN,))
    try:
        async with producer_of(r.settings) as producer:
            ends = await send_all(producer, scenario.calendar)
            t = time.perf_counter()
            await wait_applied(reader, ends, t, alive, timeout_s)
            calendar_s = time.perf_counter() - t
            await group_stable(bootstrap, "reslot-notifier")
            await watch.start()
            started = time.perf_counter()
            await send_all(producer, [scenario.outage])
        async with asyncio.timeout(timeout_s):
            plan_at = await _until(watch, 1, (PLAN,), alive)
            plan = watch.bodies[PLAN][0]["data"]
            notes_at = await _until(watch, plan["displaced"], (REQUESTED,), alive)
            status_at = await _until(watch, CHANNELS * plan["displaced"], STATUS, alive)
    finally:
        await watch.stop()
        await reader.close()
    counts = watch.counts()
    return {
        "displaced": scenario.displaced, "calendar_events": len(scenario.calendar),
        "calendar_applied_s": calendar_s,
        "plan": {k: plan[k] for k in ("displaced", "moved", "unplaced", "cost", "bound",
                                      "status", "solve_ms")},
        "to_plan_completed_s": plan_at - started,
        "to_last_notification_requested_s": notes_at - started,
        "to_last_status_s": status_at - started,
        "status_events": sum(counts[t] for t in STATUS),
        "delivered": counts[STATUS[0]], "failed": counts[STATUS[1]],
        "emails_received": len(r.smtp.messages), "sms_received": len(r.sms.messages),
    }


async def _until(watch: TopicWatch, expected: int, types: tuple[str, ...],
                 alive: Callable[[], None]) -> float:
    waiting = asyncio.create_task(watch.wait_for(expected, *types))
    try:
        while not waiting.done():
            alive()
            await asyncio.wait({waiting}, timeout=0.5)
        return waiting.result()
    finally:
        waiting.cancel()


async def _in_process(r: Rig, body: Callable[[Callable[[], None]], Awaitable[dict[str, Any]]],
                      ) -> dict[str, Any]:
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(r.settings, stop))
    notifier = await start_notifier(r.settings)

    def alive() -> None:
        if scheduler.done():
            scheduler.result()
            raise RuntimeError("the scheduler stopped")

    try:
        return await body(alive)
    finally:
        stop.set()
        try:
            await notifier.stop()
        finally:
            await asyncio.wait_for(scheduler, timeout=60)


async def outage_latency(n_displaced: int, seed: int = 1) -> dict[str, Any]:
    """Scheduler and notifier in this process; the figures of one outage."""
    scenario = outage_scenario(n_displaced, seed)
    async with rig() as r:
        return await _in_process(r, lambda alive: play(r, scenario, alive))
