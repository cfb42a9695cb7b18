"""Records applied as a scheduler lane applies them (consumer.Applier, without Kafka): cut
into parts at plans (services/scheduler/parts.py), each part written by the lane's Writer
while the next is planned, and the outbox read meanwhile, as the relay reads it (woken by
each stored part, its rows deleted once read).
"""

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from services.scheduler.consumer import Writer
from services.scheduler.parsing import Record
from services.scheduler.parts import plan_parts
from services.scheduler.pipeline import Pipeline
from services.scheduler.store.sql import SchedulerStore, StoredRow


@dataclass
class Relayed:
    rows: list[StoredRow] = field(default_factory=list)
    parts: int = 0
    first_at: float | None = None  # perf_counter when the first row was read
    ended_at: float = 0.0  # perf_counter when the last row was read


async def apply_and_relay(pipeline: Pipeline, store: SchedulerStore, records: Sequence[Record],
                          partitions: Iterable[int] | None = None,
                          chunk: int = 20_000) -> Relayed:
    """Apply `records` part by part, as the Applier does, while reading the outbox rows of
    `partitions` (all: None) as they are stored; every row read once the last part is."""
    out = Relayed()
    stored, done = asyncio.Event(), asyncio.Event()
    mine = None if partitions is None else sorted(set(partitions))

    async def relay() -> None:
        while True:
            finished = done.is_set()
            rows = await store.outbox_batch(mine, chunk)
            if rows:
                out.first_at = out.first_at or time.perf_counter()
                await store.outbox_delete([r.seq for r in rows])
                out.rows += rows
                continue
            if finished:  # nothing left after the last part was stored
                out.ended_at = time.perf_counter()
                return
            stored.clear()
            if not done.is_set():
                await stored.wait()

    def on_stored() -> None:
        stored.set()

    reading = asyncio.create_task(relay(), name="bench-relay")
    writer = Writer(pipeline, on_stored=on_stored)
    try:
        for part in plan_parts(records):
            prepared = await pipeline.prepare(part)
            failed = await writer.failure()  # the previous part's write, as _begin awaits it
            if failed is not None:
                raise failed
            writer.begin(prepared)
            out.parts += 1
        failed = await writer.failure()
        if failed is not None:
            raise failed
    except BaseException:
        reading.cancel()
        raise
    finally:
        done.set()
        stored.set()
    await reading
    return out
