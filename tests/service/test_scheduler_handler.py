"""Service layer: the scheduler's FastStream subscriber under TestKafkaBroker (no network)."""

import asyncio
from pathlib import Path

from faststream.kafka import TestKafkaBroker

from services.common.settings import KafkaSettings, Settings
from services.scheduler.app import build_scheduler
from tests.builders import CENTRE, at, booking, centre, line


async def test_subscriber_applies_a_batch_and_dead_letters_garbage(tmp_path: Path) -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers="test:9092"),
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    scheduler = await build_scheduler(settings, asyncio.Event())
    # the test broker assigns nothing: own the partitions the messages will land on
    # (its fake records all have offset 0, so each message goes to a partition of its own)
    for topic, partition in (("visa.centres.v1", 0), ("visa.bookings.v1", 0),
                             ("visa.bookings.v1", 1)):
        scheduler.positions.applied[(topic, partition)] = -1
    async with TestKafkaBroker(scheduler.broker) as broker:
        await broker.publish(line("visa.centre.registered.v1", centre()).encode(),
                             "visa.centres.v1", key=CENTRE.encode(), partition=0)
        await broker.publish(b"{garbage", "visa.bookings.v1", key=CENTRE.encode(), partition=0)
        await broker.publish(line("visa.booking.created.v1", booking("b1", at(3, 9))).encode(),
                             "visa.bookings.v1", key=CENTRE.encode(), partition=1)
    await scheduler.applier.settle()  # the handler returns while the last batch is written
    state = (await scheduler.store.load_centres([CENTRE]))[CENTRE]
    assert state.info is not None
    assert list(state.bookings) == ["b1"]
    rows = await scheduler.store.outbox_batch(None, 10)
    assert [r.topic for r in rows] == ["visa.deadletter.v1"]
    await scheduler.store.close()


async def test_records_already_applied_are_skipped(tmp_path: Path) -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers="test:9092"),
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    scheduler = await build_scheduler(settings, asyncio.Event())
    scheduler.positions.applied[("visa.bookings.v1", 0)] = 0  # offset 0 is already stored
    async with TestKafkaBroker(scheduler.broker) as broker:
        await broker.publish(line("visa.booking.created.v1", booking("b1", at(3, 9))).encode(),
                             "visa.bookings.v1", key=CENTRE.encode(), partition=0)
    await scheduler.applier.settle()
    assert (await scheduler.store.load_centres([CENTRE]))[CENTRE].bookings == {}
    await scheduler.store.close()
