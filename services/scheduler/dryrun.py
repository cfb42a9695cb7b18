"""`reslot plan`: what the scheduler would publish for a file of input events, with no broker.

The records go through the same Pipeline as in the running service, on a temporary store;
outage events are routed to their centres right away, as the relay would. A line that is
not a valid event is dead-lettered, as the service would, stamped with the clock's time
(a line has no Kafka timestamp), and the run carries on.
"""

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from schemas.topics import INTERNAL_TOPICS, TOPIC_OF_TYPE, Topic
from services.scheduler.parsing import InputRecord, Record
from services.scheduler.pipeline import Pipeline
from services.scheduler.store.sql import SchedulerStore, StoredRow


def records_of(lines: Iterable[str | bytes]) -> Iterator[Record]:
    """One record per non-blank line, on the topic its event type belongs to. A line's bytes
    go to the pipeline as they are, as a Kafka record's would: one that is not UTF-8, not
    JSON or not an event is dead-lettered there, with its reason."""
    for number, line in enumerate(lines, start=1):
        raw = (line if isinstance(line, bytes) else line.encode()).strip()
        if raw:
            yield InputRecord(str(_topic_of(raw)), 0, number, None, raw, NO_TIMESTAMP)


def _topic_of(raw: bytes) -> str:
    """The topic of the line's event type; the bookings topic when it names none we know."""
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, too many digits
        return Topic.BOOKINGS
    kind = found.get("type") if isinstance(found, dict) else None
    return TOPIC_OF_TYPE.get(kind, Topic.BOOKINGS) if isinstance(kind, str) else Topic.BOOKINGS


NO_TIMESTAMP = -1  # as Kafka says of a record without one


PipelineFactory = Callable[[SchedulerStore], Pipeline]


async def dry_run(lines: Iterable[str | bytes],
                  pipeline_factory: PipelineFactory) -> list[StoredRow]:
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
    internal_offsets = dict.fromkeys(INTERNAL_TOPICS, 0)

    async def apply(batch: list[Record]) -> None:
        """The batch, then what it sends to the scheduler's own topics, read back at once."""
        while batch:
            await pipeline.handle(batch)
            batch = []
            for row in await _drain(store):
                topic = Topic(row.topic) if row.topic in INTERNAL_TOPICS else None
                if topic is None:
                    published.append(row)
                    continue
                internal_offsets[topic] += 1  # read back, as the owner would
                batch.append(InputRecord(topic, 0, internal_offsets[topic], row.key.encode(),
                                         row.value, NO_TIMESTAMP, row.headers))

    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if record.topic == Topic.OUTAGES or len(batch) >= 1000:
            await apply(batch)
            batch = []
    await apply(batch)
    return published


async def _drain(store: SchedulerStore) -> list[StoredRow]:
    rows: list[StoredRow] = []
    while chunk := await store.outbox_batch(None, 10_000):
        await store.outbox_delete([r.seq for r in chunk])
        rows += chunk
    return rows

