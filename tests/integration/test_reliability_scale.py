"""Scale out, then hand over: two `reslot scheduler` and two `reslot notifier` processes on
the local broker, 12 centres over 6 partitions (two on each), the schedulers sharing one
PostgreSQL store and the notifiers another.

Scale (issue 7): the schedulers split the partitions, the same ones of every topic
(co-partitioned), and keep that split while the first wave is planned; each plan is
committed once, by the instance that owns its centre's partition; each notification is sent
once, by the notifier that owns its centre's partition on visa.notifications.v1.

Rebalance: the second wave is published; the first scheduler is stopped gracefully at once,
the second takes every partition over and is SIGKILLed as soon as it works on them; a third
takes over. Every centre is planned exactly once per outage event: one plan.completed id per
(centre, outage, cause), the same ids and decisions as `reslot plan`, nothing lost.
"""

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import Topic
from services.common.kafka import ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.conftest import eventually, new_database
from tests.integration.chaos import (
    PLAN_DONE,
    SCHEDULER_INPUTS,
    SchedulerDb,
    Service,
    assignments,
    centres_on_partitions,
    check_outputs,
    dry_run_waves,
    json_lines,
    make_scenario,
    messages_of,
    notifications_done,
    notifier_env,
    partition_of,
    plans_on_topic,
    scheduler_env,
    until_split,
)
from tests.kafka_helpers import read_all

pytestmark = pytest.mark.integration

PARTITIONS = 6
NOTIFICATIONS = (str(Topic.NOTIFICATIONS),)


def _committed_plans(service: Service) -> list[dict[str, Any]]:
    return [e for e in json_lines(service.log_text()) if e.get("event") == "plan committed"]


def _delivered(service: Service) -> list[str]:
    return [e["delivery"] for e in json_lines(service.log_text())
            if e.get("event") == "notification delivered"]


async def test_two_of_each_split_the_centres_then_hand_them_over_exactly_once(
    kafka: str, postgres_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    centres = centres_on_partitions(PARTITIONS, 2, prefix="sc")
    scenario = make_scenario(17, centres, days=4, booked_days=2, waves=2)
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka), partitions=PARTITIONS)
    await ensure_topics(settings)
    smtp = await SmtpSink().start()
    sms = await SmsSink().start()
    async with new_database(postgres_url) as scheduler_db, \
            new_database(postgres_url) as notifier_db:
        env = scheduler_env(kafka, scheduler_db, RESLOT_PARTITIONS=PARTITIONS,
                            RESLOT_HTTP_PORT=0)
        a, b, c = (Service(f"scheduler-{x}", "scheduler", env, tmp_path) for x in "abc")
        n1, n2 = (Service(f"notifier-{x}", "notifier", notifier_env(
            kafka, notifier_db, smtp, sms, f"notifier-{x}", RESLOT_PARTITIONS=PARTITIONS,
            RESLOT_HTTP_PORT=0), tmp_path) for x in ("1", "2"))
        services = (a, b, c, n1, n2)
        db = SchedulerDb(scheduler_db)
        producer = make_producer(settings)
        await producer.start()
        try:
            for s in (a, b, n1, n2):
                s.start()
            waves = await dry_run_waves(scenario)  # reslot plan's code, wave by wave
            expected = waves.expected
            wave_plans = [waves.plans(0), waves.plans(1)]
            split = await until_split([a, b], SCHEDULER_INPUTS, PARTITIONS, timeout=90)
            notifier_split = await until_split([n1, n2], NOTIFICATIONS, PARTITIONS, timeout=90)
            rebalances = [len(assignments(s.current_log())) for s in (a, b, n1, n2)]

            # Scale: calendars and the first wave, with the split unchanged throughout.
            await publish_all(producer, messages_of(scenario.calendars))
            await eventually(lambda: db.caught_up(kafka), timeout=60, interval=0.5)
            await publish_all(producer, messages_of(scenario.waves[0]))
            await eventually(lambda: _planned(kafka, wave_plans[0]), timeout=60)
            first_notes = waves.notifications(0)
            await eventually(lambda: notifications_done(kafka, expected, smtp, sms, first_notes),
                             timeout=60)
            assert [len(assignments(s.current_log())) for s in (a, b, n1, n2)] == rebalances
            committed = {s.name: _committed_plans(s) for s in (a, b)}
            delivered = {s.name: _delivered(s) for s in (n1, n2)}

            # Rebalance: the second wave; `a` stops gracefully, `b` is killed, `c` takes over.
            applied = await db.applied()
            await publish_all(producer, messages_of(scenario.waves[1]))
            code, stop_s = a.terminate(timeout=30)
            assert code == 0, a.tail()
            await until_split([b], SCHEDULER_INPUTS, PARTITIONS, timeout=60)
            await eventually(lambda: _applied_beyond(db, applied), timeout=30, interval=0.02)
            b.kill()
            c.start()
            await until_split([c], SCHEDULER_INPUTS, PARTITIONS, timeout=60)
            await eventually(lambda: _planned(kafka, wave_plans[1]), timeout=60)
            await eventually(lambda: _relayed(db), timeout=30)
            await eventually(lambda: notifications_done(kafka, expected, smtp, sms), timeout=60)
            for s in (c, n1, n2):
                code, _ = s.terminate(timeout=30)
                assert code == 0, s.tail()
            outcome = await check_outputs(kafka, expected, smtp, sms)
            reschedules = await read_all(kafka, Topic.RESCHEDULES)
        except BaseException:
            print(*(s.tail() for s in services), sep="\n")
            raise
        finally:
            for s in services:
                s.stop_if_running()
            await db.close()
            await producer.stop()
            await smtp.stop()
            await sms.stop()

    # Scale: every first-wave plan committed once, by the owner of its centre's partition.
    owner = {p: name for name, owned in zip(("scheduler-a", "scheduler-b"), split, strict=True)
             for p in owned["visa.bookings.v1"]}
    by_plan = Counter(p["plan_id"] for plans in committed.values() for p in plans)
    assert all(n == 1 for n in by_plan.values()), by_plan
    first_wave = {e["data"]["plan_id"] for e in expected.of_type(PLAN_DONE)
                  if e["id"] in wave_plans[0]}
    assert set(by_plan) == first_wave
    for name, plans in committed.items():
        for p in plans:
            assert owner[partition_of(p["centre_id"], PARTITIONS)] == name, p
    assert all(plans for plans in committed.values()), "one scheduler did no work"
    # ... and every notification sent once, by the notifier owning its centre's partition.
    note_owner = {p: name for name, owned in zip(("notifier-1", "notifier-2"), notifier_split,
                                                 strict=True)
                  for p in owned[str(Topic.NOTIFICATIONS)]}
    sent = Counter(key for keys in delivered.values() for key in keys)
    assert all(n == 1 for n in sent.values()), sent
    for name, keys in delivered.items():
        for key in keys:
            centre = expected.notifications[key.split("/")[0]]["data"]["centre_id"]
            assert note_owner[partition_of(centre, PARTITIONS)] == name, key
    assert all(delivered.values()), "one notifier did no work"

    # Rebalance: one plan id per (centre, outage, cause) and exactly reslot plan's.
    per_cause: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in reschedules:
        if e["type"] == PLAN_DONE:
            per_cause[(e["data"]["centre_id"], e["data"]["outage_id"], e["time"])].add(e["id"])
    assert all(len(ids) == 1 for ids in per_cause.values()), per_cause
    assert {i for ids in per_cause.values() for i in ids} == expected.plans.keys()
    assert not outcome.lost, outcome.lost[:10]
    assert not outcome.contradictions, outcome.contradictions[:10]
    assert not outcome.unexpected, outcome.unexpected[:10]
    assert outcome.email_resends == 0
    shares = [sorted(s["visa.bookings.v1"]) for s in split]
    note_shares = [sorted(s[str(Topic.NOTIFICATIONS)]) for s in notifier_split]
    print(f"\nscale: schedulers split partitions {shares}, notifiers {note_shares}; "
          f"{len(first_wave)} plans committed once each by their owner "
          f"({', '.join(f'{k}: {len(v)}' for k, v in committed.items())}); "
          f"{sum(sent.values())} deliveries by their owner "
          f"({', '.join(f'{k}: {len(v)}' for k, v in delivered.items())})")
    print(f"rebalance: a stopped in {stop_s:.1f}s (exit 0), b took all and was killed, c took "
          f"over; {len(per_cause)} plans once each as reslot plan; lost 0, duplicated 0, "
          f"same-id copies {outcome.copies}; {time.monotonic() - began:.0f}s")


async def _planned(bootstrap: str, plan_ids: set[str]) -> bool:
    return plan_ids <= await plans_on_topic(bootstrap)


async def _applied_beyond(db: SchedulerDb, count: int) -> bool:
    return await db.applied() > count


async def _relayed(db: SchedulerDb) -> bool:
    return await db.outbox_backlog() == 0
