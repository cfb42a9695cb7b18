"""Part (b): booking events ingested per second by one scheduler, next to raw consumption.

For each store (SQLite, PostgreSQL), twice: a fresh broker; N small visa.booking.created.v1
events over many centres; plain aiokafka consumption of that topic; the real scheduler
(`reslot scheduler`, a child process, as deployed) on that store; raw consumption again.
The scheduler's clock runs from its start until its stored offsets reach the end offsets;
"steady" counts from its first stored offset (the consumer group join excluded). Each
side's best run is reported.
"""

import asyncio
import contextlib
import datetime as dt
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from bench import processes
from bench.events import booking_stream
from bench.kafka_io import end_offsets, publish, raw_consume
from bench.outage import ROOT, proc_status, service_env
from bench.stores import TP, fresh_postgres, wait_applied
from schemas.topics import Topic
from services.common.kafka import ensure_topics
from services.common.local_broker import free_port
from services.common.settings import KafkaSettings, Settings
from services.scheduler.store.sql import SchedulerStore

ANNOUNCED = dt.datetime(2025, 11, 1, 9, 0, tzinfo=dt.UTC)


async def scheduler_ingest(settings: Settings, ends: Mapping[TP, int],
                           timeout_s: float) -> dict[str, Any]:
    """Run `reslot scheduler` (a child process, as deployed) until its stored offsets reach
    `ends`; its rates, and the CPU time it spent per event while steady."""
    reader = await SchedulerStore.open(settings.database_url)  # tables exist before the clock
    workdir = Path(tempfile.mkdtemp(prefix="reslot-bench-ingest-"))
    log = workdir / "scheduler.log"
    env = {**service_env(settings), "RESLOT_HTTP_PORT": str(free_port())}
    started = time.perf_counter()
    child = processes.spawn([sys.executable, "-m", "services.cli", "scheduler"], env, log, ROOT)
    cpu: list[tuple[float, float]] = []  # (clock, CPU seconds of the child) at each poll

    def alive() -> None:
        if child.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"the scheduler exited with {child.returncode}:\n{tail}")
        cpu.append((time.perf_counter(), proc_status(child.pid)["cpu_s"]))

    try:
        p = await wait_applied(reader, ends, started, alive, timeout_s)
    finally:
        await asyncio.to_thread(processes.terminate, child)
        await reader.close()
    assert p.done_at is not None
    assert p.first_at is not None
    total = p.applied
    steady_events = total - p.applied_at_first
    steady = steady_events / (p.done_at - p.first_at) if p.done_at > p.first_at \
        else float("nan")
    cpu_first = min(cpu, key=lambda c: abs(c[0] - p.first_at))[1]  # type: ignore[operator]
    cpu_done = min(cpu, key=lambda c: abs(c[0] - p.done_at))[1]  # type: ignore[operator]
    return {"records": total, "seconds": p.done_at - started,
            "per_s": total / (p.done_at - started),
            "first_commit_after_s": p.first_at - started, "steady_per_s": steady,
            "steady_cpu_us_per_event": 1e6 * (cpu_done - cpu_first) / steady_events
            if steady_events else float("nan")}


async def _against_fresh_broker(database: Callable[[], AbstractAsyncContextManager[str]],
                                events: int, centres: int, timeout_s: float) -> dict[str, Any]:
    """A fresh broker, N events published, raw consumption, then the scheduler on `database`.

    Each store gets a broker of its own: the consumer group of a stopped scheduler lingers on
    the broker and would delay the next one's join by a session timeout.
    """
    broker = processes.new_broker()
    try:
        settings = Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap))
        await ensure_topics(settings)
        t = time.perf_counter()
        ends = await publish(settings, booking_stream(events, centres, ANNOUNCED))
        produce_s = time.perf_counter() - t
        listed = await end_offsets(broker.bootstrap, [Topic.BOOKINGS])
        raw, read_ends = await raw_consume(broker.bootstrap, Topic.BOOKINGS, events)
        raw_again, _ = await raw_consume(broker.bootstrap, Topic.BOOKINGS, events)
        assert sum(ends.values()) == events, (ends, events)
        assert read_ends == ends, (read_ends, ends)
        async with database() as url:
            ingest = await scheduler_ingest(settings.model_copy(update={"database_url": url}),
                                            ends, timeout_s)
        raw_after, _ = await raw_consume(broker.bootstrap, Topic.BOOKINGS, events)
    finally:
        broker.stop()
    raws = [raw, raw_again, raw_after]
    # Like the scheduler's steady rate, raw consumption is counted once the consumer is
    # ready (started, partitions assigned and sought), and the best of three is the ceiling.
    raw_per_s = max(r["consume_per_s"] for r in raws)
    return {
        **ingest, "raw_runs_per_s": [r["consume_per_s"] for r in raws], "raw_per_s": raw_per_s,
        "raw_with_start_runs_per_s": [r["per_s"] for r in raws],
        "ratio_to_raw": ingest["per_s"] / raw_per_s,
        "steady_ratio_to_raw": ingest["steady_per_s"] / raw_per_s,
        "produce_per_s": events / produce_s,
        "listed_end_offsets": sum(listed.values()),  # Tansu's ListOffsets answer, for the record
        "partitions": settings.partitions, "batch_max_records": settings.batch_max_records,
    }


@contextlib.asynccontextmanager
async def _sqlite() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'scheduler.db'}"


async def ingest_bench(events: int = 100_000, centres: int = 50, postgres_url: str | None = None,
                       stores: tuple[str, ...] = ("sqlite", "postgresql"),
                       timeout_s: float = 300.0, runs: int = 2) -> dict[str, Any]:
    """Each store `runs` times, each on a fresh broker and database; the best of the runs.

    Raw consumption is measured three times per run and its best taken, the ceiling on this
    machine; the scheduler's best run is compared with it. This machine's speed varies by
    a third from one minute to the next, so both sides take their best.
    """
    databases: dict[str, Callable[[], AbstractAsyncContextManager[str]]] = {
        "sqlite": _sqlite,
        "postgresql": lambda: fresh_postgres(*([postgres_url] if postgres_url else [])),
    }
    results: dict[str, Any] = {"events": events, "centres": centres, "runs": runs}
    for name in stores:
        try:
            measured = [await _against_fresh_broker(databases[name], events, centres, timeout_s)
                        for _ in range(runs)]
        except Exception as exc:  # e.g. no PostgreSQL here: keep the other store's figures
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        best = max(measured, key=lambda r: r["steady_per_s"])
        raw_per_s = max(r["raw_per_s"] for r in measured)
        results[name] = {
            **best, "raw_per_s": raw_per_s,
            "raw_runs_per_s": [x for r in measured for x in r["raw_runs_per_s"]],
            "ratio_to_raw": best["per_s"] / raw_per_s,
            "steady_ratio_to_raw": best["steady_per_s"] / raw_per_s,
            "steady_runs_per_s": [r["steady_per_s"] for r in measured],
        }
    return results
