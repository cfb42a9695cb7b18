"""(h) (f) scaled out: the portal-wide outage of part (f) (bench/portal_outage.py) on one,
then two, scheduler instances sharing one PostgreSQL store, as deploy/ runs them.

Each instance is a process of its own owning the centres whose partition (murmur2 of the
centre id, as the scheduler's Ownership has it) is its own, and applies their copies of
the outage as the owner's lane would (bench/applying.py): a part per plan, each written
while the next is planned, and every output event published meanwhile by its relay to one
local broker. The clock runs from a barrier that both pass once their calendars are
applied, to the last event published by the last instance.

    python -m bench.portal [--instances 1,2]
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import time
from typing import Any

from bench import processes
from bench.applying import apply_and_relay
from bench.fresh import start_as_a_scheduler
from bench.kafka_io import producer_of
from bench.replan import OUTAGE, PORTAL_TARGET_S, Rig, calendar, outage
from bench.report import table
from bench.stores import fresh_postgres
from schemas.topics import Topic
from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings, Settings
from services.scheduler.app import planning_config
from services.scheduler.ownership import Ownership
from services.scheduler.pipeline import Pipeline
from services.scheduler.store.sql import SchedulerStore

CENTRES, PER_CENTRE = 50, 2000


def owned(names: list[str], instances: int) -> list[list[str]]:
    ownership = Ownership(instances)
    return [[n for n in names if ownership.partition_of(n) == i] for i in range(instances)]


async def _instance(index: int, instances: int, names: list[str], everyone: list[str],
                    url: str, bootstrap: str, start: Any) -> dict[str, Any]:
    store = await SchedulerStore.open(url)
    pipeline = Pipeline(store, planning_config(Settings()), ownership=Ownership(instances))
    rig = Rig(pipeline, store, partition=index, shared=True)
    for name in names:  # room for about half of each centre's displaced: the rest waits
        await rig.feed(list(calendar(name, PER_CENTRE, PER_CENTRE // 2)))
    await rig.drain()
    copies = [{**outage(everyone), "subject": name} for name in names]  # as routed
    records = rig.records(copies, Topic.OUTAGES_BY_CENTRE)
    await asyncio.to_thread(start.wait)
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=bootstrap))
    async with producer_of(settings) as producer:
        began, clock = time.time(), time.perf_counter()
        relayed = await apply_and_relay(rig.pipeline, store, records, [index],
                                        producer=producer)  # as a lane and its relay do
    ended = began + (relayed.ended_at - clock)
    plans = [p for p in rig.pipeline.recent_plans if p.outage_id == OUTAGE]
    await store.close()
    return {"index": index, "centres": len(names), "began": began, "ended": ended,
            "displaced": sum(p.displaced for p in plans), "events": relayed.published,
            "solve_ms": [p.solve_ms for p in plans]}


def _process(index: int, instances: int, names: list[str], everyone: list[str], url: str,
             bootstrap: str, start: Any, results: Any) -> None:
    start_as_a_scheduler()
    results.put(asyncio.run(_instance(index, instances, names, everyone, url, bootstrap,
                                      start)))


async def run(instances: int) -> dict[str, Any]:
    everyone = [f"c{i:02d}" for i in range(CENTRES)]
    broker = processes.new_broker()  # one broker, which every instance publishes to
    try:
        await ensure_topics(Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap)))
        found = await _instances(instances, everyone, broker.bootstrap)
    finally:
        broker.stop()
    solve = [ms for f in found for ms in f["solve_ms"]]
    wall = max(f["ended"] for f in found) - min(f["began"] for f in found)
    return {"instances": instances, "wall_s": round(wall, 2),
            "displaced": sum(f["displaced"] for f in found),
            "events": sum(f["events"] for f in found),
            "per_instance": [{"centres": f["centres"], "s": round(f["ended"] - f["began"], 2)}
                             for f in sorted(found, key=lambda f: f["index"])],
            "solve_ms_total": sum(solve),
            "solve_ms_min_median_max": [min(solve), statistics.median(solve), max(solve)],
            "target_s": PORTAL_TARGET_S, "met": wall <= PORTAL_TARGET_S}


async def _instances(instances: int, everyone: list[str], bootstrap: str,
                     ) -> list[dict[str, Any]]:
    context = mp.get_context("spawn")  # a fresh interpreter each, as a deployed instance
    async with fresh_postgres() as url:
        await (await SchedulerStore.open(url)).close()  # the tables, once
        start, results = context.Barrier(instances + 1), context.Queue()
        workers = [context.Process(target=_process, args=(i, instances, names, everyone,
                                                           url, bootstrap, start, results))
                   for i, names in enumerate(owned(everyone, instances))]
        for w in workers:
            w.start()
        await asyncio.to_thread(start.wait)  # every calendar applied: go
        found = [await asyncio.to_thread(results.get, True, 600) for _ in workers]
        for w in workers:
            w.join()
    return found


def print_runs(runs: list[dict[str, Any]]) -> None:
    print(table(f"(f) scaled out: the same portal outage, {CENTRES} centres, on 1 and 2 "
                f"scheduler instances sharing PostgreSQL (target <= {PORTAL_TARGET_S} s)",
                ["instances", "displaced", "events published", "wall s",
                 "each instance s (centres)", "solve ms total", "solve ms min/median/max"],
                [[r["instances"], r["displaced"], r["events"],
                  r["wall_s"], " / ".join(f"{p['s']} ({p['centres']})"
                                          for p in r["per_instance"]),
                  r["solve_ms_total"], " / ".join(str(x) for x in r["solve_ms_min_median_max"])]
                 for r in runs]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="1,2")
    args = parser.parse_args()
    runs = [asyncio.run(run(int(n))) for n in args.instances.split(",")]
    print_runs(runs)
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
