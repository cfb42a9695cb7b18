"""Records applied as a scheduler lane applies them (consumer.Applier, without Kafka): cut
into parts at plans (services/scheduler/parts.py), each part written by the lane's Writer
while the next is planned, and the outbox published meanwhile by the scheduler's own Relay
(services/scheduler/relay.py) to a real broker, woken by each stored part; or, without a
producer, read and deleted as the relay would, for the benches whose figures stop at the
outbox.
"""

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from services.common.metrics import Metrics
from services.scheduler.consumer import Writer
from services.scheduler.parsing import Record
from services.scheduler.parts import plan_parts
from services.scheduler.pipeline import Pipeline
from services.scheduler.relay import Relay
from services.scheduler.store.sql import SchedulerStore, StoredRow

OUTBOX_BATCH = 1000  # RESLOT_OUTBOX_BATCH's default: the relay's rows per round


@dataclass
class Relayed:
    rows: list[StoredRow] = field(default_factory=list)  # read only, without a producer
    published: int = 0  # published to the broker, with a producer
    parts: int = 0
    first_at: float | None = None  # perf_counter when the first row was read
    ended_at: float = 0.0  # perf_counter when the last row was read (and published)


class _Reader:
    """What the relay does short of publishing: read a batch, delete it."""

    def __init__(self, store: SchedulerStore, partitions: list[int] | None, out: Relayed,
                 chunk: int) -> None:
        self.store, self.partitions, self.out, self.chunk = store, partitions, out, chunk

    async def flush_once(self) -> int:
        rows = await self.store.outbox_batch(self.partitions, self.chunk)
        if rows:
            await self.store.outbox_delete([r.seq for r in rows])
            self.out.rows += rows
        return len(rows)


async def apply_and_relay(pipeline: Pipeline, store: SchedulerStore, records: Sequence[Record],
                          partitions: Iterable[int] | None = None, chunk: int = 20_000,
                          producer: AIOKafkaProducer | None = None) -> Relayed:
    """Apply `records` part by part, as the Applier does, while the outbox rows of
    `partitions` (all: None; with a producer, given) are relayed as they are stored; every
    row relayed once the last part is."""
    out = Relayed()
    stored, done = asyncio.Event(), asyncio.Event()
    mine = None if partitions is None else sorted(set(partitions))
    if producer is not None:
        owned = set(mine or ())
        relay: Relay | _Reader = Relay(store, producer, OUTBOX_BATCH, lambda: owned, Metrics())
    else:
        relay = _Reader(store, mine, out, chunk)

    async def relaying() -> None:
        while True:
            finished = done.is_set()
            sent = await relay.flush_once()
            if sent:
                out.first_at = out.first_at or time.perf_counter()
                out.published += sent if producer is not None else 0
                continue
            if finished:  # nothing left after the last part was stored
                out.ended_at = time.perf_counter()
                return
            stored.clear()
            if not done.is_set():
                await stored.wait()

    reading = asyncio.create_task(relaying(), name="bench-relay")
    writer = Writer(pipeline, on_stored=stored.set)
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
