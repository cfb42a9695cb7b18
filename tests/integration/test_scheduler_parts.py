"""A lane applies a batch holding several plans in parts (services/scheduler/parts.py): one
transaction per plan, each written while the next is planned, with what one transaction of
the whole batch would have written, and the input offsets stored with the last part."""

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from schemas.topics import TOPIC_OF_TYPE, Topic
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.consumer import Applier, Writer
from services.scheduler.parsing import InputRecord
from services.scheduler.pipeline import Pipeline
from services.scheduler.positions import Positions
from services.scheduler.store.sql import SchedulerStore, StoredRow
from tests.builders import at, booking, centre, outage, raw, slots

CENTRES = ("parts-a", "parts-b", "parts-c")


def _calendar(c: str) -> list[dict[str, Any]]:
    times = [at(3, 9), at(3, 10), at(4, 9), at(4, 10)]
    return [raw("visa.centre.registered.v1", centre(c)),
            raw("visa.slots.published.v1", slots(times, capacity=2, centre_id=c)),
            *[raw("visa.booking.created.v1", booking(f"{c}-{n}", times[n % 2], centre_id=c))
              for n in range(4)]]


def _records(events: list[dict[str, Any]], topic: str | None, first: int) -> list[InputRecord]:
    return [InputRecord(topic or TOPIC_OF_TYPE[e["type"]], 0, first + n,
                        (e["subject"] or e["data"].get("outage_id", "")).encode(),
                        json.dumps(e).encode(), 1_764_064_800_000)
            for n, e in enumerate(events)]


async def _drain(store: SchedulerStore) -> list[StoredRow]:
    rows = []
    while chunk := await store.outbox_batch(None, 1000):
        await store.outbox_delete([r.seq for r in chunk])
        rows += chunk
    return rows


async def _routed_copies(pipeline: Pipeline, store: SchedulerStore) -> list[InputRecord]:
    """The calendars applied, then the portal outage: its copies, one per centre, as routed."""
    await pipeline.handle(_records([e for c in CENTRES for e in _calendar(c)], None, 0))
    portal = raw("visa.outage.declared.v1",
                 outage("portal", at(3, 8), at(3, 12), centre_ids=CENTRES), subject="")
    await pipeline.handle(_records([portal], Topic.OUTAGES, 0))
    copies = [json.loads(r.value) for r in await _drain(store)
              if r.topic == Topic.OUTAGES_BY_CENTRE]
    assert sorted(c["subject"] for c in copies) == sorted(CENTRES)
    return _records(copies, Topic.OUTAGES_BY_CENTRE, 0)


def _by_key(rows: list[StoredRow]) -> dict[str, list[tuple[str, Any]]]:
    """Each key's events in order (parts keep the order of each centre's), but the time
    a solve took."""
    out: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for r in rows:
        event = json.loads(r.value)
        event["data"].pop("solve_ms", None)
        out[r.key].append((r.topic, event))
    return dict(out)


async def test_plans_of_one_batch_are_written_one_by_one_with_the_whole_batchs_events(
        kafka: str, tmp_path: Path) -> None:
    config = planning_config(Settings())
    whole_store = await SchedulerStore.open(f"sqlite+aiosqlite:///{tmp_path / 'whole.db'}")
    parts_store = await SchedulerStore.open(f"sqlite+aiosqlite:///{tmp_path / 'parts.db'}")
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)  # only sought on a gap: none here
    try:
        whole = Pipeline(whole_store, config)
        await whole.handle(await _routed_copies(whole, whole_store))
        expected = await _drain(whole_store)

        lane = Pipeline(parts_store, config)
        copies = await _routed_copies(lane, parts_store)
        stored: list[int] = []
        writer = Writer(lane, on_stored=lambda: stored.append(len(stored)))

        async def nothing() -> None:
            return None

        positions = Positions(parts_store, consumer, settle=nothing, forget=lane.forget)
        positions.applied = {(Topic.OUTAGES_BY_CENTRE, 0): -1}
        applier = Applier(lane, positions, writer, give_up=asyncio.Event(),
                          partitions=lambda: {0})
        assert await applier.apply(copies) == len(CENTRES)
        assert await writer.failure() is None
        assert len(stored) == len(CENTRES)  # a transaction per plan
        got = await _drain(parts_store)
        assert _by_key(got) == _by_key(expected)
        plans = [r for r in got if json.loads(r.value)["type"] == "visa.plan.completed.v1"]
        assert len(plans) == len(CENTRES)
        offsets = await parts_store.stored_offsets([(Topic.OUTAGES_BY_CENTRE, 0)])
        assert offsets == {(Topic.OUTAGES_BY_CENTRE, 0): len(CENTRES) - 1}
        assert positions.applied == offsets
    finally:
        await consumer.stop()
        await whole_store.close()
        await parts_store.close()
