"""Records applied as a scheduler lane applies them (consumer.Applier, without Kafka's
consumer): cut into parts at plans (services/scheduler/parts.py), each part written by the
lane's Writer while the next is planned, and the outbox published meanwhile by the
scheduler's own Relay (services/scheduler/relay.py) to a real broker, woken by each stored
part.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from services.common.metrics import Metrics
from services.common.settings import Settings
from services.scheduler.consumer import Writer
from services.scheduler.parsing import Record
from services.scheduler.parts import plan_parts
from services.scheduler.pipeline import Pipeline
from services.scheduler.relay import Relay
from services.scheduler.store.rows import OUTBOX_COLUMNS
from services.scheduler.store.sql import SchedulerStore

TOPIC = OUTBOX_COLUMNS.index("topic")
OUTBOX_BATCH = Settings().outbox_batch  # RESLOT_OUTBOX_BATCH's default: rows per round


@dataclass
class Relayed:
    published: int = 0
    parts: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)  # the outbox rows stored
    first_at: float | None = None  # perf_counter when the first events were published
    ended_at: float = 0.0  # perf_counter when the last event was published


async def apply_and_relay(pipeline: Pipeline, store: SchedulerStore, records: Sequence[Record],
                          partitions: Iterable[int], producer: AIOKafkaProducer) -> Relayed:
    """Apply `records` part by part, as the Applier does, while the outbox rows of
    `partitions` are published as they are stored; every row published once the last part
    is."""
    out = Relayed()
    stored, done = asyncio.Event(), asyncio.Event()
    owned = set(partitions)
    relay = Relay(store, producer, OUTBOX_BATCH, lambda: owned, Metrics())

    async def relaying() -> None:
        while True:
            finished = done.is_set()
            sent = await relay.flush_once()
            if sent:
                out.first_at = out.first_at or time.perf_counter()
                out.published += sent
                continue
            if finished:  # nothing left after the last part was stored
                out.ended_at = time.perf_counter()
                return
            stored.clear()
            if not done.is_set():
                await stored.wait()

    publishing = asyncio.create_task(relaying(), name="bench-relay")
    writer = Writer(pipeline, on_stored=stored.set)
    try:
        for part in plan_parts(records):
            prepared = await pipeline.prepare(part)
            out.by_topic.update(row[TOPIC] for row in prepared.rows.outbox)
            failed = await writer.failure()  # the previous part's write, as _begin awaits it
            if failed is not None:
                raise failed
            writer.begin(prepared)
            out.parts += 1
        failed = await writer.failure()
        if failed is not None:
            raise failed
    except BaseException:
        publishing.cancel()
        raise
    finally:
        done.set()
        stored.set()
    await publishing
    return out
