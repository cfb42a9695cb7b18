"""Parts (c) and (d): from publishing ONE outage to the last notification event, and the
services' peak memory meanwhile.

A generated centre (the solver's seeded instance as events: calendar, bookings in the outage
window, free slots elsewhere) on a fresh broker. Everything runs as it is deployed, each in a
process of its own: `reslot scheduler` and `reslot notifier` (python -m services.cli), and
the SMTP server and SMS gateway they talk to (bench.sinks), with rate limits high and quiet
hours off. The calendar is published and applied first; the clock runs from the outage's
publication until
  - the plan (visa.plan.completed.v1),
  - the last notification event (visa.notification.requested.v1, one per displaced booking),
  - the last delivery report (visa.notification.delivered/failed.v1, two per notification:
    e-mail and SMS)
are on Kafka. Then VmHWM, VmRSS and CPU time of both services are read from /proc.
"""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import processes
from bench.events import OutageScenario, outage_scenario
from bench.kafka_io import TopicWatch, group_stable, producer_of, send_all
from bench.stores import wait_applied
from schemas.topics import Topic
from services.common.kafka import ensure_topics
from services.common.local_broker import free_port
from services.common.settings import KafkaSettings, Settings
from services.scheduler.store.sql import SchedulerStore

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("scheduler", "notifier")
PLAN = "visa.plan.completed.v1"
REQUESTED = "visa.notification.requested.v1"
STATUS = ("visa.notification.delivered.v1", "visa.notification.failed.v1")
WATCHED = (Topic.RESCHEDULES, Topic.NOTIFICATIONS, Topic.NOTIFICATION_STATUS)
CHANNELS = 2  # every generated applicant has an e-mail address and a phone


@dataclass
class Rig:
    """A fresh broker, the sinks' process, and the settings every service of one run shares."""

    settings: Settings
    workdir: Path
    counts_file: Path
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.logs[name] = self.workdir / f"{name}.log"
        self.children[name] = processes.spawn(args, env, self.logs[name], ROOT)

    def alive(self) -> None:
        """Raise, with the end of its log, if a child process exited."""
        for name, child in self.children.items():
            if child.poll() is not None:
                tail = "\n".join(self.logs[name].read_text(errors="replace").splitlines()[-15:])
                raise RuntimeError(f"{name} exited with {child.returncode}:\n{tail}")

    def counts(self) -> dict[str, int]:
        try:
            return dict(json.loads(self.counts_file.read_text()))
        except (OSError, ValueError):
            return {}


def service_env(settings: Settings) -> dict[str, str]:
    """The environment of `reslot scheduler` / `reslot notifier` for these settings."""
    s = settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "RESLOT_"))}
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka.bootstrap_servers or "",
        "RESLOT_DATABASE_URL": s.database_url,
        "RESLOT_SMTP_HOST": s.smtp_host, "RESLOT_SMTP_PORT": str(s.smtp_port),
        "RESLOT_SMS_URL": s.sms_url,
        "RESLOT_SMS_RATE_PER_S": str(s.sms_rate_per_s),
        "RESLOT_EMAIL_RATE_PER_S": str(s.email_rate_per_s),
        "RESLOT_QUIET_HOURS_START": str(s.quiet_hours_start),
        "RESLOT_QUIET_HOURS_END": str(s.quiet_hours_end),
        "RESLOT_LOG_LEVEL": "WARNING",
    })
    return env


LIFTED = 100_000  # a rate limit no run reaches


@contextlib.asynccontextmanager
async def rig(sms_rate_per_s: float = LIFTED) -> AsyncIterator[Rig]:
    broker = processes.new_broker()
    try:
        with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
            workdir = Path(tmp)
            smtp_port, sms_port = free_port(), free_port()
            settings = Settings(
                kafka=KafkaSettings(bootstrap_servers=broker.bootstrap),
                database_url=f"sqlite+aiosqlite:///{workdir / 'scheduler.db'}",
                smtp_host="127.0.0.1", smtp_port=smtp_port,
                sms_url=f"http://127.0.0.1:{sms_port}/sms",
                sms_rate_per_s=sms_rate_per_s, email_rate_per_s=LIFTED,
                quiet_hours_start=0, quiet_hours_end=0,
            )
            r = Rig(settings, workdir, workdir / "sinks.json")
            try:
                r.spawn("sinks", [sys.executable, "-m", "bench.sinks", "--smtp-port",
                                  str(smtp_port), "--sms-port", str(sms_port),
                                  "--counts", str(r.counts_file)], dict(os.environ))
                await _listening(r, smtp_port, sms_port)
                await ensure_topics(settings)
                yield r
            finally:
                for child in r.children.values():
                    await asyncio.to_thread(processes.terminate, child)
    finally:
        broker.stop()


async def _listening(r: Rig, *ports: int, timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        for port in ports:
            while True:
                r.alive()
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                await asyncio.sleep(0.05)


async def play(r: Rig, scenario: OutageScenario, timeout_s: float = 300.0) -> dict[str, Any]:
    """Calendar in and applied, then the outage; timings until the last status event."""
    bootstrap = r.settings.kafka.bootstrap_servers or ""
    reader = await SchedulerStore.open(r.settings.database_url)
    watch = TopicWatch(bootstrap, WATCHED, keep=(PLAN,))
    try:
        async with producer_of(r.settings) as producer:
            ends = await send_all(producer, scenario.calendar)
            t = time.perf_counter()
            await wait_applied(reader, ends, t, r.alive, timeout_s)
            calendar_s = time.perf_counter() - t
            await group_stable(bootstrap, "reslot-notifier")
            await watch.start()
            started = time.perf_counter()
            await send_all(producer, [scenario.outage])
        async with asyncio.timeout(timeout_s):
            plan_at = await _until(watch, 1, (PLAN,), r.alive)
            plan = watch.bodies[PLAN][0]["data"]
            notes_at = await _until(watch, plan["displaced"], (REQUESTED,), r.alive)
            cpu_then, reported_then = _notifier_cpu_s(r), watch.count(*STATUS)
            status_at = await _until(watch, CHANNELS * plan["displaced"], STATUS, r.alive)
            cpu_per_delivery = (_notifier_cpu_s(r) - cpu_then) / max(
                1, CHANNELS * plan["displaced"] - reported_then)
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
        "deliveries_per_s": CHANNELS * plan["displaced"] / (status_at - notes_at),
        "notifier_cpu_ms_per_delivery": round(1000 * cpu_per_delivery, 3),
        "per_channel": watch.channel_rates(),
        "status_events": sum(counts[t] for t in STATUS),
        "delivered": counts[STATUS[0]], "failed": counts[STATUS[1]],
    }


def _notifier_cpu_s(r: Rig) -> float:
    """CPU seconds the notifier has used so far (0 where it runs elsewhere)."""
    child = r.children.get("notifier")
    return proc_status(child.pid)["cpu_s"] if child is not None else 0.0


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


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of `pid` in KiB, and the CPU seconds it used (user + system)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


async def outage_latency(n_displaced: int, seed: int = 1,
                         sms_rate_per_s: float = LIFTED) -> dict[str, Any]:
    """One outage of `n_displaced` bookings through the deployed services; timings, memory.
    The e-mail provider's rate limit is lifted; the SMS gateway's too, or `sms_rate_per_s`."""
    scenario = outage_scenario(n_displaced, seed)
    async with rig(sms_rate_per_s) as r:
        await (await SchedulerStore.open(r.settings.database_url)).close()  # tables first
        env = service_env(r.settings)
        for name in SERVICES:
            r.spawn(name, [sys.executable, "-m", "services.cli", name],
                    {**env, "RESLOT_HTTP_PORT": str(free_port())})
        figures = await play(r, scenario)
        await asyncio.sleep(0.5)  # the sinks write their counts every 0.2 s
        memory = {name: proc_status(r.children[name].pid) for name in SERVICES}
        codes = {name: await asyncio.to_thread(processes.terminate, r.children[name])
                 for name in SERVICES}
        counts = r.counts()
    return {
        **figures,
        "sms_rate_per_s": sms_rate_per_s,
        "emails_received": counts.get("emails"), "emails_unique": counts.get("emails_unique"),
        "sms_received": counts.get("sms"),
        "memory": {name: {"vm_hwm_mib": memory[name]["VmHWM"] / 1024,
                          "vm_rss_mib": memory[name]["VmRSS"] / 1024,
                          "cpu_s": memory[name]["cpu_s"], "exit_code": codes[name]}
                   for name in SERVICES},
    }
