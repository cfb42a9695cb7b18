"""Any upstream partitioner (issue 14 item 6): upstream publishes with confluent-kafka's
default partitioner (librdkafka's CRC32, not murmur2) to two `reslot scheduler` processes
sharing one PostgreSQL database: 12 centres over 6 partitions, their calendars, outages,
then cancellations, moves and new bookings inside the outages' windows, then a revision.

Every centre's events land on CRC32's partition, which is not murmur2's for most of them;
the instance that reads such a record forwards it to the owner of the centre's partition
and never applies it. The decisions must be exactly those of `reslot plan` on the same
events (booking -> new start, or unplaced), and no cancelled booking is active in the store.
"""

import asyncio
import datetime as dt
import json
import random
import zlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from confluent_kafka import Message, Producer

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics
from services.common.settings import KafkaSettings, Settings
from services.scheduler.ownership import Ownership
from services.scheduler.store import tables as t
from tests.conftest import eventually
from tests.integration.chaos import (
    ANNOUNCED,
    DECISIONS,
    SCHEDULER_INPUTS,
    Scenario,
    SchedulerDb,
    Service,
    check_outputs,
    dry_run_waves,
    make_scenario,
    messages_of,
    plans_on_topic,
    scheduler_env,
    until_split,
)
from tests.kafka_helpers import read_all

pytestmark = pytest.mark.integration

PARTITIONS = 6
CENTRES = [f"any-{n:02d}" for n in range(12)]
CONTENT_TYPE: list[tuple[str, str | bytes | None]] = [
    ("content-type", b"application/cloudevents+json")]


def _event(kind: str, eid: str, centre: str, time: dt.datetime, data: dict[str, Any]) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "booking-system/any",
                       "type": kind, "time": time.isoformat(), "subject": centre,
                       "data": data})


def _inside(outage: dict[str, Any]) -> list[dt.datetime]:
    """The half-hour slot starts inside an outage's window."""
    start, end = (dt.datetime.fromisoformat(outage[k]) for k in ("start", "end"))
    return [start + dt.timedelta(minutes=30 * i)
            for i in range(int((end - start).total_seconds() // 1800))]


def changes_inside_windows(scenario: Scenario, seed: int) -> list[str]:
    """After the first outages: per centre they stop, two bookings cancelled (one inside the
    window, displaced and planned), one moved by the booking system into the window, and two
    new bookings inside it. Single bookings only (families move together)."""
    rng = random.Random(seed)
    singles: dict[str, list[dict[str, Any]]] = {}
    gone = set()
    for line in scenario.calendars:
        e = json.loads(line)
        if e["type"] == "visa.booking.created.v1" and "group_id" not in e["data"]:
            singles.setdefault(e["subject"], []).append(e["data"])
        elif e["type"] in ("visa.booking.moved.v1", "visa.booking.cancelled.v1"):
            gone.add(e["data"]["booking_id"])  # already changed upstream: leave them be
    when = ANNOUNCED + dt.timedelta(hours=2)
    out: list[str] = []
    for line in scenario.waves[0]:
        outage = json.loads(line)["data"]
        window = _inside(outage)
        for centre in outage["centre_ids"]:
            mine = [b for b in singles.get(centre, []) if b["booking_id"] not in gone]
            displaced = [b for b in mine if dt.datetime.fromisoformat(b["slot_start"]) in window
                         and b["service"] == "short_stay"]
            elsewhere = [b for b in mine if b not in displaced]
            chosen = rng.sample(displaced, min(1, len(displaced))) + rng.sample(elsewhere, 2)
            cancelled, moved = chosen[:-1], chosen[-1]
            for b in cancelled:
                out.append(_event("visa.booking.cancelled.v1", f"{b['booking_id']}-gone",
                                  centre, when, {"booking_id": b["booking_id"],
                                                 "centre_id": centre}))
            out.append(_event("visa.booking.moved.v1", f"{moved['booking_id']}-in", centre,
                              when, {"booking_id": moved["booking_id"], "centre_id": centre,
                                     "slot_start": rng.choice(window).isoformat()}))
            for n in range(2):
                booking_id = f"{centre}-late-{outage['outage_id']}-{n}"
                out.append(_event("visa.booking.created.v1", booking_id, centre, when, {
                    "booking_id": booking_id, "centre_id": centre, "service": "short_stay",
                    "slot_start": rng.choice(window).isoformat(), "category": "standard",
                    "applicant": {"name": "Nadia Kaci", "language": "fr",
                                  "email": f"{booking_id}@courriel.dz"}}))
    return out


class LibrdkafkaProducer:
    """Publishes as a librdkafka client does by default: key hashed with CRC32."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                                  "log_level": 3})
        self.partitions: list[tuple[str, int]] = []  # (key, partition) of every delivery

    def close(self) -> None:
        """Let librdkafka's threads go now, not whenever the object is collected."""
        self.producer.flush(5)
        del self.producer

    def _publish(self, messages: list[Outgoing]) -> None:
        failed: list[str] = []

        def delivered(error: object, message: Message) -> None:
            if error is not None:
                failed.append(str(error))
            else:
                key, partition = message.key(), message.partition()
                assert key is not None
                assert partition is not None
                self.partitions.append((key.decode(), partition))

        for m in messages:
            self.producer.produce(m.topic, m.value, key=m.key.encode(), headers=CONTENT_TYPE,
                                  on_delivery=delivered)
            self.producer.poll(0)
        assert self.producer.flush(30) == 0, "messages not delivered in 30 s"
        assert not failed, failed[:3]

    async def publish(self, messages: list[Outgoing]) -> None:
        await asyncio.to_thread(self._publish, messages)


async def _settled(db: SchedulerDb, kafka: str) -> bool:
    """Everything published is applied, forwards and routed copies included."""
    for _ in range(2):  # applying what was relayed may relay more
        if await db.outbox_backlog() or not await db.caught_up(kafka):
            return False
    return True


def _final_decisions(events: list[dict[str, Any]]) -> dict[str, str | None]:
    """booking -> its last new start (None: unplaced), in the order decided."""
    return {e["data"]["booking_id"]: e["data"].get("to_start") if
            e["type"] == "visa.appointment.rescheduled.v1" else None
            for e in events if e["type"] in DECISIONS}


async def test_crc32_partitioned_input_gets_exactly_reslot_plans_decisions(
    kafka: str, fresh_postgres: str, tmp_path: Path
) -> None:
    base = make_scenario(31, CENTRES, days=4, booked_days=2, waves=2)
    changes = changes_inside_windows(base, seed=31)
    scenario = Scenario(base.centres, base.calendars, [base.waves[0], changes, base.waves[1]])
    assert any("revised" in json.loads(x)["type"] for x in base.waves[1])
    await ensure_topics(Settings(kafka=KafkaSettings(bootstrap_servers=kafka),
                                 partitions=PARTITIONS))
    env = scheduler_env(kafka, fresh_postgres, RESLOT_PARTITIONS=PARTITIONS, RESLOT_HTTP_PORT=0)
    a, b = (Service(f"scheduler-{x}", "scheduler", env, tmp_path) for x in "ab")
    db = SchedulerDb(fresh_postgres)
    upstream = LibrdkafkaProducer(kafka)
    try:
        a.start()
        b.start()
        waves = await dry_run_waves(scenario)  # `reslot plan`'s code, phase by phase
        await until_split([a, b], SCHEDULER_INPUTS, PARTITIONS, timeout=90)
        await upstream.publish(messages_of(scenario.calendars))
        await eventually(lambda: _settled(db, kafka), timeout=90, interval=0.5)
        for n, phase in enumerate(scenario.waves):
            await upstream.publish(messages_of(phase))
            await eventually(lambda n=n: _planned(kafka, waves.plans(n)), timeout=90)
            await eventually(lambda: _settled(db, kafka), timeout=90, interval=0.5)
        outcome = await check_outputs(kafka, waves.expected)
        reschedules = await read_all(kafka, Topic.RESCHEDULES)
        forwarded = await read_all(kafka, Topic.INPUTS_BY_CENTRE)
        active = await _active_bookings(db)
    except BaseException:
        print(a.tail(), b.tail(), sep="\n")
        raise
    finally:
        a.stop_if_running()
        b.stop_if_running()
        await db.close()
        partitions = upstream.partitions
        upstream.close()

    owner = Ownership(PARTITIONS)
    elsewhere = [(k, p) for k, p in partitions if owner.partition_of(k) != p]
    assert all(zlib.crc32(k.encode()) % PARTITIONS == p for k, p in partitions)
    assert len(elsewhere) > len(partitions) // 2, "CRC32 agreed with murmur2"
    assert len(forwarded) >= len(elsewhere)  # each read elsewhere reached its owner
    assert not outcome.lost, outcome.lost[:10]
    assert not outcome.unexpected, outcome.unexpected[:10]
    assert not outcome.contradictions, outcome.contradictions[:10]
    assert _final_decisions(reschedules) == _final_decisions(waves.expected.outputs)
    cancelled = {json.loads(x)["data"]["booking_id"] for x in scenario.lines
                 if json.loads(x)["type"] == "visa.booking.cancelled.v1"}
    assert cancelled
    assert not cancelled & active, sorted(cancelled & active)[:10]
    late = {json.loads(x)["data"]["booking_id"] for x in changes
            if json.loads(x)["type"] == "visa.booking.created.v1"}
    assert late <= set(_final_decisions(reschedules)), "a booking inside a window not decided"
    print(f"\nany partitioner: {len(partitions)} records published with CRC32, "
          f"{len(elsewhere)} on another partition than their centre's, forwarded "
          f"({len(forwarded)} forwards); {len(_final_decisions(reschedules))} bookings "
          f"decided as reslot plan; {len(cancelled)} cancelled, none active")


async def _planned(bootstrap: str, plan_ids: set[str]) -> bool:
    return plan_ids <= await plans_on_topic(bootstrap)


async def _active_bookings(db: SchedulerDb) -> set[str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.select(t.bookings.c.booking_id)
                                  .where(t.bookings.c.status == "active"))
        return set(rows.scalars())
