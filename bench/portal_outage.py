"""Part (f) of the bench: a portal-wide outage naming 50 centres, 100,000 displaced in all
(2,000 each, about half of them left waiting), on one scheduler instance (SQLite): from
the outage record to every plan and notification event in the outbox and read from it.
The routed copies are applied as a scheduler lane applies them (bench/applying.py: a part
per plan, each written while the next is planned); target <= 10 s; per-centre solve time
and the total. Baselines beside it: the same outage applied in one batch and one
transaction (before services/scheduler/parts.py), and the solver alone on the same 50
instances (no fold, store or events); bench/fresh.py adds the same outage at CPython's
default pace of garbage collection. The calendars and the Rig are bench/replan.py's.
"""

import gc
import json
import statistics
import tempfile
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from bench import processes
from bench.applying import OUTBOX_BATCH, apply_and_relay
from bench.collector import full_collections
from bench.kafka_io import producer_of
from bench.replan import (
    ANNOUNCED,
    OUTAGE,
    PORTAL_TARGET_S,
    Rig,
    calendar,
    sqlite_rig,
)
from bench.report import table
from services.common.kafka import ensure_topics
from services.common.metrics import Metrics
from services.common.runtime import keep_long_lived
from services.common.settings import KafkaSettings, Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.planning import build_instance
from services.scheduler.parsing import InputRecord
from services.scheduler.relay import Relay


async def part_f(centres: int = 50, per_centre: int = 2000,
                 in_parts: bool = True) -> dict[str, Any]:
    """`in_parts`: the routed copies applied as a lane applies them (bench/applying.py),
    else as one batch in one transaction (the way before parts.py); either way every
    event published by the scheduler's relay to a local broker."""
    names = [f"c{i:02d}" for i in range(centres)]
    broker = processes.new_broker()
    try:
        settings = Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap))
        await ensure_topics(settings)
        async with producer_of(settings) as producer:
            return await _portal(names, per_centre, in_parts, producer)
    finally:
        broker.stop()


async def _portal(names: list[str], per_centre: int, in_parts: bool,
                  producer: AIOKafkaProducer) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
        rig = await sqlite_rig(tmp, "portal")
        for name in names:  # room for about half: the other half waits
            await rig.feed(list(calendar(name, per_centre, per_centre // 2)))
        with full_collections() as full:
            started = time.perf_counter()
            records = await rig.routed(names)
            applied = time.perf_counter()
            steps = await (_in_parts(rig, records, applied, producer) if in_parts
                           else _in_one(rig, records, applied, producer))
        total_s = steps.pop("published_at") - started
        plans = [p for p in rig.pipeline.recent_plans if p.outage_id == OUTAGE]
        solve_ms = [p.solve_ms for p in plans]
        config = planning_config(Settings())
        solver_s = _solver_alone(rig, names, config)
        await rig.store.close()
    return {
        "centres": len(names), "displaced": sum(p.displaced for p in plans),
        "moved": sum(p.moved for p in plans), "waiting": sum(p.unplaced for p in plans),
        "plans": len(plans), "total_s": round(total_s, 3), "solve_total_ms": sum(solve_ms),
        "route_s": round(applied - started, 3), **steps,
        "solve_ms_min_median_max": [min(solve_ms), statistics.median(solve_ms), max(solve_ms)],
        "per_centre_solve_ms": {p.centre_id: p.solve_ms for p in plans},
        "baseline_solver_alone_s": round(solver_s, 3),
        "thresholds": gc.get_threshold(), "full_collections": len(full),
        "target_s": PORTAL_TARGET_S, "met": total_s <= PORTAL_TARGET_S,
    }


async def _in_parts(rig: Rig, records: list[InputRecord], applied: float,
                    producer: AIOKafkaProducer) -> dict[str, Any]:
    relayed = await apply_and_relay(rig.pipeline, rig.store, records, [rig.partition],
                                    producer=producer)
    keep_long_lived()
    first = relayed.first_at if relayed.first_at is not None else relayed.ended_at
    return {"published_at": relayed.ended_at, "events_published": relayed.published,
            "parts": relayed.parts, "first_event_s": round(first - applied, 3)}


async def _in_one(rig: Rig, records: list[InputRecord], applied: float,
                  producer: AIOKafkaProducer) -> dict[str, Any]:
    prepared = await rig.pipeline.prepare(records)
    planned = time.perf_counter()
    await rig.pipeline.commit(prepared)
    keep_long_lived()
    committed = time.perf_counter()
    relay = Relay(rig.store, producer, OUTBOX_BATCH, lambda: {rig.partition}, Metrics())
    published = 0
    while sent := await relay.flush_once():
        published += sent
    ended = time.perf_counter()
    return {"published_at": ended, "events_published": published, "parts": 1,
            "first_event_s": round(committed - applied, 3),
            "plan_and_events_s": round(planned - applied, 3),
            "store_write_s": round(committed - planned, 3),
            "publish_s": round(ended - committed, 3)}


def _solver_alone(rig: Rig, names: list[str], config: Any) -> float:
    """The same 50 first plans, solver only: the outage's instances rebuilt from the
    stored bookings' original slots (a fresh fold would only repeat the setup)."""
    total = 0.0
    for name in names:
        state = rig.pipeline._centres[name]
        ids = [b for b, dec in state.decisions.items() if dec.outage_id == OUTAGE]
        for b in ids:  # back to the original slot, as before the plan
            state.set_slot(b, state.bookings[b], state.decisions[b].at_start)
        instance = build_instance(state, OUTAGE, ids, ANNOUNCED, config.policy,
                                  config.default_slot_min)
        started = time.perf_counter()
        config.solver(instance, config.params)
        total += time.perf_counter() - started
    return total


def print_f(f: dict[str, Any]) -> None:
    whole, default = f.get("one_transaction"), f.get("default_gc")
    print(table(f"(f) portal-wide outage, {f['centres']} centres (target <= "
                f"{PORTAL_TARGET_S} s)",
                ["run", "displaced", "moved", "waiting", "events published", "wall s",
                 "first events s", "solve ms total", "solve ms min/median/max"],
                [["outage -> published, as a lane applies it", f["displaced"], f["moved"],
                  f["waiting"], f["events_published"], f["total_s"], f.get("first_event_s"),
                  f["solve_total_ms"], " / ".join(str(x) for x in f["solve_ms_min_median_max"])],
                 *([["baseline: one batch, one transaction", f["displaced"], None, None,
                     whole["events_published"], whole["total_s"], whole["first_event_s"],
                     whole["solve_total_ms"], None]]
                   if whole else []),
                 ["baseline: solver alone", f["displaced"], None, None, None,
                  f["baseline_solver_alone_s"], None, None, None],
                 *([["same as a lane, CPython's default GC pace", f["displaced"], None, None,
                     None, default["total_s"], default.get("first_event_s"),
                     default["solve_total_ms"], None]] if default else [])]))
    print(f"  routing {f['route_s']} s; {f.get('parts', 1)} parts, each written while the "
          f"next is planned, and published by the relay as it is stored")
    if whole:
        print(f"  one transaction: fold + plans + output events {whole['plan_and_events_s']} "
              f"s, store write {whole['store_write_s']} s, published by the relay "
              f"{whole['publish_s']} s, one after another")
    if "full_collections" in f:
        print(f"  full garbage collections meanwhile: {f['full_collections']} with the "
              f"scheduler's pace {f.get('gc_thresholds')}, "
              f"{(default or {}).get('full_collections', '-')} with CPython's default")
    print("  per-centre solve ms:", json.dumps(f["per_centre_solve_ms"]))
