"""Graceful shutdown: SIGTERM a `reslot scheduler` process while the calendars stream in
(batches of 25 in hand, more arriving): it exits 0 within RESLOT_GRACEFUL_TIMEOUT_S, and the
restarted process completes everything exactly once: the stored state equals a crash-free
pass, and the outage wave published next gets the plans and decisions of `reslot plan`.
"""

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from tests.conftest import eventually
from tests.integration.chaos import (
    Expected,
    SchedulerDb,
    Service,
    check_outputs,
    dry_run_waves,
    make_scenario,
    messages_of,
    reference_state,
    scheduler_env,
    until_assigned,
)

pytestmark = pytest.mark.integration

GRACE_S = 4.0
CHUNK = 40


async def _stop(scheduler: Service) -> float:
    code, took = scheduler.terminate(timeout=GRACE_S + 10)
    assert code == 0, f"exit code {code} after SIGTERM:\n{scheduler.tail()}"
    assert took < GRACE_S, f"took {took:.1f}s to stop, more than RESLOT_GRACEFUL_TIMEOUT_S"
    return took


async def test_sigterm_mid_stream_exits_cleanly_and_the_restart_completes_exactly_once(
    kafka: str, fresh_postgres: str, tmp_path: Path
) -> None:
    scenario = make_scenario(5, ["term-alger", "term-oran", "term-setif"], days=6,
                             booked_days=4, waves=1)
    calendars = messages_of(scenario.calendars)
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka))
    await ensure_topics(settings)
    scheduler = Service("scheduler", "scheduler", scheduler_env(
        kafka, fresh_postgres, RESLOT_BATCH_MAX_RECORDS=25, RESLOT_GRACEFUL_TIMEOUT_S=GRACE_S),
        tmp_path)
    db = SchedulerDb(fresh_postgres)
    producer = make_producer(settings)
    await producer.start()
    try:
        scheduler.start()
        waves = await dry_run_waves(scenario)  # reslot plan's code
        expected = waves.expected
        await until_assigned(scheduler)
        publishing = asyncio.create_task(_stream(producer, calendars))
        await eventually(lambda: _progressed(db, len(calendars) // 4), timeout=60,
                         interval=0.02)
        applied_at_stop = await db.applied()
        took = await _stop(scheduler)
        await publishing
        assert applied_at_stop < len(calendars), "nothing was in flight at the stop"
        scheduler.start()
        await eventually(lambda: db.caught_up(kafka), timeout=60)
        state = await db.state()
        (wave,) = scenario.waves
        await publish_all(producer, messages_of(wave))
        await eventually(lambda: _done(db, kafka, expected), timeout=60)
        outcome = await check_outputs(kafka, expected)
    except BaseException:
        print(scheduler.tail())
        raise
    finally:
        scheduler.stop_if_running()
        await producer.stop()
        await db.close()

    assert state == await reference_state(scenario.calendars, tmp_path)
    assert not outcome.lost, outcome.lost[:10]
    assert not outcome.contradictions, outcome.contradictions[:10]
    assert not outcome.unexpected, outcome.unexpected[:10]
    print(f"\nshutdown: SIGTERM with {applied_at_stop} of {len(calendars)} applied, exit 0 "
          f"in {took:.1f}s (limit {GRACE_S:.0f}s); {len(expected.decisions)} decisions and "
          f"{len(expected.plans)} plans as reslot plan, lost 0, duplicated 0, "
          f"same-id copies {outcome.copies}")


async def _stream(producer: AIOKafkaProducer, messages: list[Outgoing]) -> None:
    for i in range(0, len(messages), CHUNK):
        await publish_all(producer, messages[i:i + CHUNK])
        await asyncio.sleep(0.03)


async def _progressed(db: SchedulerDb, beyond: int) -> bool:
    return await db.applied() > beyond


async def _done(db: SchedulerDb, kafka: str, expected: Expected) -> bool:
    if not await db.caught_up(kafka) or await db.outbox_backlog():
        return False
    outcome = await check_outputs(kafka, expected)
    return not outcome.lost
