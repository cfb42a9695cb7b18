"""Broker faults: a `reslot scheduler` process talks to its broker only through a fault proxy
(the broker advertises the proxy's port, so no client can bypass it), which adds latency,
resets every connection at seeded moments and then cuts the broker off for 8 seconds, longer
than the consumer's session. Nothing is lost or applied twice in effect: the stored state
equals a crash-free pass and the decisions, plans and notification requests are those of
`reslot plan`.
"""

import asyncio
import random
import time
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError

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
    plans_on_topic,
    reference_state,
    scheduler_env,
    until_assigned,
)
from tests.integration.faultproxy import FaultProxy, broker_behind_proxy

pytestmark = pytest.mark.integration

SEED = 3
BLACKOUT_S = 8.0


async def _publish(settings: Settings, messages: list[Outgoing]) -> None:
    """Publish through the proxy, between faults (a send a fault cut short could land twice,
    which would be another input, not the same one)."""
    producer = make_producer(settings)
    await producer.start()
    try:
        await publish_all(producer, messages)
    finally:
        await producer.stop()


async def _resets(proxy: FaultProxy, rng: random.Random, count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(rng.uniform(0.1, 0.6))
        proxy.reset_all()


async def test_resets_latency_and_a_blackout_lose_and_double_nothing(
    fresh_postgres: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    scenario = make_scenario(SEED, ["fault-alger", "fault-oran", "fault-blida"], days=6,
                             booked_days=3, waves=2)
    async with broker_behind_proxy() as (proxy, _):
        settings = Settings(kafka=KafkaSettings(bootstrap_servers=proxy.address))
        await ensure_topics(settings)
        scheduler = Service("scheduler", "scheduler", scheduler_env(
            proxy.address, fresh_postgres, RESLOT_BATCH_MAX_RECORDS=50), tmp_path)
        db = SchedulerDb(fresh_postgres)
        began = time.monotonic()
        try:
            scheduler.start()
            waves = await dry_run_waves(scenario)  # reslot plan's code, wave by wave
            expected = waves.expected
            wave_plans = [waves.plans(0), waves.plans(1)]
            await until_assigned(scheduler)

            # Calendars over a slow path (30 ms each way on every chunk), with two resets.
            proxy.latency_s = 0.03
            calendars = messages_of(scenario.calendars)
            await _publish(settings, calendars)
            await _resets(proxy, rng, 2)
            await eventually(lambda: db.caught_up(proxy.address), timeout=60, interval=0.5)
            proxy.latency_s = 0.0
            state = await db.state()

            # First wave: every connection reset at seeded moments while it is planned.
            await _publish(settings, messages_of(scenario.waves[0]))
            await _resets(proxy, rng, 4)
            await eventually(lambda: _planned(proxy.address, wave_plans[0]), timeout=60)

            # Second wave: the broker vanishes for 8 s, beyond the 6 s session.
            before = await db.applied()
            await _publish(settings, messages_of(scenario.waves[1]))
            await eventually(lambda: _applied_beyond(db, before), timeout=30, interval=0.02)
            blackout_at = time.monotonic() - began
            await proxy.blackout(BLACKOUT_S)
            assert scheduler.alive, "the scheduler died in the blackout"
            await eventually(lambda: _planned(proxy.address, wave_plans[1]), timeout=90)
            await eventually(lambda: _relayed(db), timeout=30)
            await eventually(lambda: _all_out(proxy.address, expected), timeout=30)
            outcome = await check_outputs(proxy.address, expected)
            code, _ = scheduler.terminate(timeout=30)
            assert code == 0
        except BaseException:
            print(scheduler.tail())
            raise
        finally:
            scheduler.stop_if_running()
            await db.close()

    assert state == await reference_state(scenario.calendars, tmp_path)
    assert not outcome.lost, outcome.lost[:10]
    assert not outcome.contradictions, outcome.contradictions[:10]
    assert not outcome.unexpected, outcome.unexpected[:10]
    assert outcome.deadletters == 0
    print(f"\nbroker faults: {proxy.resets} connections reset, {proxy.refused} refused in the "
          f"{BLACKOUT_S:.0f}s blackout at {blackout_at:.1f}s, {proxy.accepted} connections "
          f"through the proxy; {len(scenario.lines)} events in, {outcome.outputs} out, "
          f"lost 0, duplicated 0, same-id copies {outcome.copies}; "
          f"{time.monotonic() - began:.0f}s")


async def _planned(bootstrap: str, plan_ids: set[str]) -> bool:
    return plan_ids <= await plans_on_topic(bootstrap)


async def _applied_beyond(db: SchedulerDb, count: int) -> bool:
    return await db.applied() > count


async def _relayed(db: SchedulerDb) -> bool:
    return await db.outbox_backlog() == 0


async def _all_out(bootstrap: str, expected: Expected) -> bool:
    try:
        return not (await check_outputs(bootstrap, expected)).lost
    except (KafkaError, OSError, TimeoutError):
        return False
