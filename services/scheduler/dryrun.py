"""`reslot plan`: what the scheduler would publish for a file of input events, with no broker.

The records go through the same Pipeline as in the running service, on a temporary store;
outage events are routed to their centres right away, as the relay would.
"""

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from schemas.topics import TOPIC_OF_TYPE, Topic
from services.scheduler.pipeline import InputRecord, Pipeline, Record
from services.scheduler.store.sql import SchedulerStore, StoredRow


def records_of(lines: Iterable[str]) -> Iterator[Record]:
    """One record per non-blank line, on the topic its event type belongs to."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            kind = json.loads(line).get("type", "")
        except (json.JSONDecodeError, AttributeError):
            kind = ""
        topic = TOPIC_OF_TYPE.get(kind, Topic.BOOKINGS)  # unparseable: dead-lettered there
        yield InputRecord(str(topic), 0, number, None, line.strip().encode(), 0)


PipelineFactory = Callable[[SchedulerStore], Pipeline]


async def dry_run(lines: Iterable[str], pipeline_factory: PipelineFactory) -> list[StoredRow]:
    """Every output event, in the order the scheduler would publish them."""
    with tempfile.TemporaryDirectory(prefix="reslot-plan-") as tmp:
        store = await SchedulerStore.open(f"sqlite+aiosqlite:///{Path(tmp) / 'plan.db'}")
        try:
            return await _run(records_of(lines), pipeline_factory(store), store)
        finally:
            await store.close()


async def _run(records: Iterable[Record], pipeline: Pipeline,
               store: SchedulerStore) -> list[StoredRow]:
    published: list[StoredRow] = []
    batch: list[Record] = []
    routed_offset = 0
    for record in records:
        batch.append(record)
        if record.topic != Topic.OUTAGES and len(batch) < 1000:
            continue
        pending = batch
        while pending:
            await pipeline.handle(pending)
            pending = []
            for row in await _drain(store):
                if row.topic == Topic.OUTAGES_BY_CENTRE:
                    routed_offset += 1
                    pending.append(InputRecord(str(row.topic), 0, routed_offset,
                                               row.key.encode(), row.value, 0))
                else:
                    published.append(row)
        batch = []
    if batch:
        await pipeline.handle(batch)
        published += await _drain(store)
    return published


async def _drain(store: SchedulerStore) -> list[StoredRow]:
    rows: list[StoredRow] = []
    while chunk := await store.outbox_batch(None, 10_000):
        await store.outbox_delete([r.seq for r in chunk])
        rows += chunk
    return rows

