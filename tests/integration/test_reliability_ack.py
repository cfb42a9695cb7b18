"""Ack policy: a scheduler SIGKILLed while input is streaming in loses nothing and applies
nothing twice, because the database, not Kafka's auto-commit, records what was applied.

The calendars (bookings, then moves and cancellations of some) are published in small
chunks while a `reslot scheduler` process applies them in small batches; it is killed at a
seeded moment mid-stream, the rest is published while it is down, and it is restarted. The
stored state must equal what the same pipeline reaches in one crash-free pass, and every
stored position must be the last offset of its partition.
"""

import asyncio
import random
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from tests.conftest import eventually
from tests.integration.chaos import (
    SchedulerDb,
    Service,
    make_scenario,
    messages_of,
    reference_state,
    scheduler_env,
    until_assigned,
)

pytestmark = pytest.mark.integration

SEED = 7
CHUNK = 40


async def test_a_killed_scheduler_restarted_stores_every_booking_exactly_once(
    kafka: str, fresh_postgres: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    scenario = make_scenario(SEED, ["ack-alger", "ack-oran", "ack-annaba"], days=6,
                             booked_days=4, waves=0)
    messages = messages_of(scenario.calendars)
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka))
    await ensure_topics(settings)
    scheduler = Service("scheduler", "scheduler",
                        scheduler_env(kafka, fresh_postgres, RESLOT_BATCH_MAX_RECORDS=25),
                        tmp_path)
    db = SchedulerDb(fresh_postgres)
    producer = make_producer(settings)
    await producer.start()
    kill_at = int(len(messages) * rng.uniform(0.2, 0.5))
    try:
        scheduler.start()
        await until_assigned(scheduler)
        streaming = asyncio.create_task(_stream(producer, messages))
        await eventually(lambda: _applied_at_least(db, kill_at), timeout=60, interval=0.01)
        scheduler.kill()  # batches of 25 in hand, more arriving
        applied_at_kill = await db.applied()
        await streaming  # the rest arrives while it is down
        assert applied_at_kill < len(messages), "the kill did not land mid-stream"
        restarted = time.monotonic()
        scheduler.start()
        await eventually(lambda: db.caught_up(kafka), timeout=60)
        caught_up_s = time.monotonic() - restarted
        stored = await db.state()
        offsets = await db.offsets()
    except BaseException:
        print(scheduler.tail(), await db.behind(kafka))
        raise
    finally:
        scheduler.stop_if_running()
        await producer.stop()
        await db.close()

    expected = await reference_state(scenario.calendars, tmp_path)
    assert stored["bookings"] == expected["bookings"]  # each once, last change applied
    assert len(stored["bookings"]) == sum(1 for line in scenario.calendars
                                          if "booking.created" in line)
    assert stored == expected  # slots, conflicts, centres too
    assert sum(offset + 1 for offset in offsets.values()) == len(messages)  # none skipped
    print(f"\nack: {len(messages)} events streamed, SIGKILL after {applied_at_kill} applied; "
          f"the restart caught up in {caught_up_s:.1f}s; "
          f"{len(stored['bookings'])} bookings stored, lost 0, duplicated 0")


async def _stream(producer: AIOKafkaProducer, messages: list[Outgoing]) -> None:
    for i in range(0, len(messages), CHUNK):
        await publish_all(producer, messages[i:i + CHUNK])
        await asyncio.sleep(0.03)


async def _applied_at_least(db: SchedulerDb, count: int) -> bool:
    return await db.applied() >= count
