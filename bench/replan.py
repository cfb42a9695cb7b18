"""The living calendar's speed, in-process through the Pipeline on a real store (SQLite).

(e) one capacity event -> the waiting list re-planned and every output event (rescheduled,
    notification, plan, advice) published by the scheduler's relay to a local broker, with
    5,000 waiting at one centre; target <= 1 s. Baseline beside it: today's one-shot plan of
    the same 5,000 (an outage declared on the same calendar with the same free places),
    from the outage record to its last event published. Both are applied as a lane applies
    records (bench/applying.py).
(f) a portal-wide outage naming 50 centres, 100,000 displaced: bench/portal_outage.py, on
    this module's calendars and Rig.

Each runs in a fresh interpreter standing for a `reslot scheduler` process, with the pace
of garbage collection it sets at start (bench/fresh.py, services/common/runtime.py), and
the in-memory calendars frozen after each batch, as its consumer does (keep_long_lived).

    python -m bench.replan [--parts ef]
"""

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench import processes
from bench.applying import apply_and_relay
from bench.kafka_io import producer_of
from bench.report import table
from schemas.topics import TOPIC_OF_TYPE, Topic
from services.common.kafka import ensure_topics
from services.common.runtime import keep_long_lived
from services.common.settings import KafkaSettings, Settings
from services.scheduler.app import planning_config
from services.scheduler.parsing import InputRecord
from services.scheduler.pipeline import Pipeline
from services.scheduler.store.sql import SchedulerStore

TZ = "Africa/Algiers"
DAY0 = dt.date(2026, 3, 2)  # a Monday
ANNOUNCED = dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC)
OUTAGE = "bench-outage"
REPLAN_TARGET_S = 1.0
PORTAL_TARGET_S = 10.0


def _event(kind: str, eid: str, subject: str, data: dict[str, Any],
           time: dt.datetime = ANNOUNCED) -> dict[str, Any]:
    return {"specversion": "1.0", "id": eid, "source": "booking-system/bench", "type": kind,
            "time": time.isoformat(), "subject": subject, "data": data}


def _at(day: int, minute: int) -> str:
    start = dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(8), dt.UTC)
    return (start + dt.timedelta(minutes=minute)).isoformat()


def calendar(centre: str, displaced: int, free_places: int) -> Iterator[dict[str, Any]]:
    """A centre whose day 0 holds `displaced` bookings (40 slots), and `free_places` free
    places over the days after it (none if 0)."""
    yield _event("visa.centre.registered.v1", f"{centre}-reg", centre, {
        "centre_id": centre, "name": f"Centre {centre}", "city": "Alger", "country": "DZ",
        "timezone": TZ, "address": "Bab Ezzouar", "languages": ["fr", "ar"]})
    per_slot = -(-displaced // 40)
    yield _event("visa.slots.published.v1", f"{centre}-day0", centre, {
        "centre_id": centre, "service": "short_stay",
        "slots": [{"start": _at(0, 12 * i), "duration_min": 12, "capacity": per_slot}
                  for i in range(40)]})
    if free_places:
        yield extra_places(centre, free_places, "free")
    for n in range(displaced):
        yield _event("visa.booking.created.v1", f"{centre}-b{n}", centre, {
            "booking_id": f"{centre}-b{n}", "centre_id": centre, "service": "short_stay",
            "slot_start": _at(0, 12 * (n % 40)),
            "category": {1: "official", 2: "medical"}.get(n % 25, "standard"),
            "applicant": {"name": f"Applicant {n}", "language": ("fr", "ar", "en")[n % 3],
                          "email": f"a{n}@example.dz", "phone": f"+2135{10_000_000 + n:08d}"}})


def extra_places(centre: str, places: int, eid: str) -> dict[str, Any]:
    """`places` places over days 7.. (past the notice), 40 slots a day of up to 25 each."""
    slots, left, i = [], places, 0
    while left > 0:
        capacity = min(25, left)
        slots.append({"start": _at(7 + i // 40, 12 * (i % 40)), "duration_min": 12,
                      "capacity": capacity})
        left, i = left - capacity, i + 1
    return _event("visa.slots.published.v1", f"{centre}-{eid}", centre, {
        "centre_id": centre, "service": "short_stay", "slots": slots})


def outage(centres: list[str]) -> dict[str, Any]:
    return _event("visa.outage.declared.v1", OUTAGE, "", {
        "outage_id": OUTAGE, "centre_ids": centres, "start": _at(0, 0), "end": _at(1, 0),
        "reason": "bench", "notice_min": 1440})


class Rig:
    """A Pipeline on a fresh store; records fed as Kafka would (on `partition`), outbox
    drained (its partition's rows only, when another rig shares the store)."""

    def __init__(self, pipeline: Pipeline, store: SchedulerStore, partition: int = 0,
                 shared: bool = False) -> None:
        self.pipeline, self.store, self.offset = pipeline, store, 0
        self.partition, self.shared = partition, shared

    def records(self, events: list[dict[str, Any]], topic: str | None) -> list[InputRecord]:
        """Each on `topic`, or on its type's own topic."""
        out = []
        for e in events:
            self.offset += 1
            out.append(InputRecord(str(topic or TOPIC_OF_TYPE[e["type"]]), self.partition,
                                   self.offset,
                                   (e["subject"] or "x").encode(), json.dumps(e).encode(),
                                   int(ANNOUNCED.timestamp() * 1000)))
        return out

    async def feed(self, events: list[dict[str, Any]], topic: str | None = None,
                   batch: int = 5000) -> None:
        records = self.records(events, topic)
        for i in range(0, len(records), batch):
            await self.pipeline.handle(records[i:i + batch])
            keep_long_lived()  # as the consumer does once a batch is in the cache

    async def drain(self) -> list[Any]:
        rows = []
        mine = [self.partition] if self.shared else None
        while chunk := await self.store.outbox_batch(mine, 20_000):
            await self.store.outbox_delete([r.seq for r in chunk])
            rows += chunk
        return rows

    async def routed(self, centres: list[str]) -> list[InputRecord]:
        """The outage record applied (routed to its centres): the copies to apply, as a lane
        would read them from the internal topic."""
        await self.feed([outage(centres)], Topic.OUTAGES)
        copies = [json.loads(r.value) for r in await self.drain()]
        return self.records(copies, Topic.OUTAGES_BY_CENTRE)

    async def outage_everywhere(self, centres: list[str]) -> list[Any]:
        """The outage record, its routed copies applied in one batch, every output read
        back."""
        await self.pipeline.handle(await self.routed(centres))
        keep_long_lived()
        return await self.drain()


async def sqlite_rig(tmp: str, name: str) -> Rig:
    store = await SchedulerStore.open(f"sqlite+aiosqlite:///{Path(tmp) / name}.db")
    return Rig(Pipeline(store, planning_config(Settings())), store)


async def part_e(waiting: int = 5000) -> dict[str, Any]:
    """(e), and its baseline, each published by the scheduler's relay to a local broker."""
    broker = processes.new_broker()
    try:
        settings = Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap))
        await ensure_topics(settings)
        async with producer_of(settings) as producer:
            return await _replan(waiting, producer)
    finally:
        broker.stop()


async def _replan(waiting: int, producer: AIOKafkaProducer) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
        live = await sqlite_rig(tmp, "replan")
        await live.feed(list(calendar("c1", waiting, 0)))
        await live.outage_everywhere(["c1"])
        assert len(live.pipeline._centres["c1"].waiting) == waiting
        started = time.perf_counter()
        event = live.records([extra_places("c1", waiting, "advised")], None)
        replan = await apply_and_relay(live.pipeline, live.store, event, [live.partition],
                                       producer)
        replan_s = replan.ended_at - started
        plans = list(live.pipeline.recent_plans)[-1:]
        await live.store.close()

        base = await sqlite_rig(tmp, "oneshot")
        await base.feed(list(calendar("c1", waiting, waiting)))
        started = time.perf_counter()
        oneshot = await apply_and_relay(base.pipeline, base.store, await base.routed(["c1"]),
                                        [base.partition], producer)
        oneshot_s = oneshot.ended_at - started
        base_plans = list(base.pipeline.recent_plans)[-1:]
        await base.store.close()
    return {
        "waiting": waiting,
        "replan_s": round(replan_s, 3), "replan_solve_ms": plans[0].solve_ms,
        "replan_placed": plans[0].from_waiting,
        "replan_notifications": replan.by_topic[Topic.NOTIFICATIONS],
        "replan_published": replan.published,
        "oneshot_s": round(oneshot_s, 3), "oneshot_solve_ms": base_plans[0].solve_ms,
        "oneshot_moved": base_plans[0].moved, "oneshot_published": oneshot.published,
        "target_s": REPLAN_TARGET_S, "met": replan_s <= REPLAN_TARGET_S,
    }


def print_e(e: dict[str, Any]) -> None:
    print(table("(e) capacity event -> waiting list re-planned, every event published by the "
                f"scheduler's relay (target <= {REPLAN_TARGET_S} s)",
                ["run", "bookings", "wall s", "solve ms", "placed", "notifications",
                 "events published"],
                [["re-plan of the waiting", e["waiting"], e["replan_s"],
                  e["replan_solve_ms"], e["replan_placed"], e["replan_notifications"],
                  e.get("replan_published")],
                 ["baseline: one-shot plan", e["waiting"], e["oneshot_s"],
                  e["oneshot_solve_ms"], e["oneshot_moved"], None,
                  e.get("oneshot_published")]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="ef")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    from bench.fresh import as_a_scheduler, part_f_beside_default_gc  # it imports this

    if "e" in args.parts:
        print_e(results.setdefault("e", as_a_scheduler("e")))
    if "f" in args.parts:
        from bench.portal_outage import print_f

        print_f(results.setdefault("f", part_f_beside_default_gc()))
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
