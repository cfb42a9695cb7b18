"""The scheduler's store seen from outside: fresh databases, and how far it has applied."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import asyncpg

from services.scheduler.store.sql import SchedulerStore

TP = tuple[str, int]
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def fresh_postgres(server_url: str = POSTGRES) -> AsyncIterator[str]:
    """A new database `reslot_bench_<random>` on the server, dropped afterwards."""
    name = f"reslot_bench_{uuid.uuid4().hex[:10]}"
    base = server_url.rpartition("/")[0]
    admin = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class Progress:
    """When the store first showed applied input, and when all of it."""

    started: float
    first_at: float | None = None
    applied_at_first: int = 0
    done_at: float | None = None
    applied: int = 0


async def wait_applied(store: SchedulerStore, ends: Mapping[TP, int], started: float,
                       alive: Callable[[], None], timeout_s: float,
                       interval_s: float = 0.05) -> Progress:
    """Poll the stored input offsets until each partition is applied up to its end offset.

    `alive` raises when the service under test has died (so we do not wait for nothing).
    """
    total = sum(ends.values())
    progress = Progress(started)
    async with asyncio.timeout(timeout_s):
        while True:
            alive()
            stored = await store.stored_offsets(ends.keys())
            progress.applied = sum(min(stored.get(tp, -1) + 1, end) for tp, end in ends.items())
            now = time.perf_counter()
            if progress.applied and progress.first_at is None:
                progress.first_at, progress.applied_at_first = now, progress.applied
            if progress.applied >= total:
                progress.done_at = now
                return progress
            await asyncio.sleep(interval_s)
