"""The living calendar's speed, in-process through the Pipeline on a real store (SQLite).

(e) one capacity event -> the waiting list re-planned and every output event (rescheduled,
    notification, plan, advice) committed to the outbox, with 5,000 waiting at one centre;
    target <= 1 s. Baseline beside it: today's one-shot plan of the same 5,000 (an outage
    declared on the same calendar with the same free places).
(f) a portal-wide outage naming 50 centres, 100,000 displaced in all (2,000 each, about
    half of them left waiting): from the outage record to every plan and notification
    event in the outbox and read from it, the routed copies applied as a scheduler lane
    applies them (bench/applying.py: a part per plan, each written while the next is
    planned); target <= 10 s; per-centre solve time and the total. Baseline
    beside it: the solver alone on the same 50 instances (no fold, store or events), and
    the same outage applied in one batch and one transaction (before parts.py), and the
    same outage with CPython's default pace of garbage collection.

Each runs in a fresh interpreter standing for a `reslot scheduler` process, with the pace
of garbage collection it sets at start (bench/fresh.py, services/common/runtime.py), and
the in-memory calendars frozen after each batch, as its consumer does (keep_long_lived).

Publishing from the outbox to Kafka is not in these figures (the relay publishes batched at
~58k events/s here, DESIGN.md; part (c) of bench.run measures it end to end).

    python -m bench.replan [--parts ef]
"""

import argparse
import datetime as dt
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.applying import apply_and_relay
from bench.collector import full_collections
from bench.report import table
from schemas.topics import TOPIC_OF_TYPE, Topic
from services.common.runtime import keep_long_lived
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.planning import build_instance
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

    async def outage_everywhere(self, centres: list[str]) -> list[Any]:
        """The outage record, its routed copies applied, every output read back."""
        await self.feed([outage(centres)], Topic.OUTAGES)
        routed = [json.loads(r.value) for r in await self.drain()]
        await self.feed(routed, Topic.OUTAGES_BY_CENTRE, batch=len(routed))
        return await self.drain()


async def _rig(tmp: str, name: str) -> Rig:
    store = await SchedulerStore.open(f"sqlite+aiosqlite:///{Path(tmp) / name}.db")
    return Rig(Pipeline(store, planning_config(Settings())), store)


def _count(rows: list[Any], kind: str) -> int:
    return sum(1 for r in rows if json.loads(r.value)["type"] == kind)


async def part_e(waiting: int = 5000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
        live = await _rig(tmp, "replan")
        await live.feed(list(calendar("c1", waiting, 0)))
        await live.outage_everywhere(["c1"])
        assert len(live.pipeline._centres["c1"].waiting) == waiting
        started = time.perf_counter()
        await live.feed([extra_places("c1", waiting, "advised")])
        rows = await live.drain()
        replan_s = time.perf_counter() - started
        plans = list(live.pipeline.recent_plans)[-1:]
        await live.store.close()

        base = await _rig(tmp, "oneshot")
        await base.feed(list(calendar("c1", waiting, waiting)))
        started = time.perf_counter()
        base_rows = await base.outage_everywhere(["c1"])
        oneshot_s = time.perf_counter() - started
        base_plans = list(base.pipeline.recent_plans)[-1:]
        await base.store.close()
    return {
        "waiting": waiting,
        "replan_s": round(replan_s, 3), "replan_solve_ms": plans[0].solve_ms,
        "replan_placed": _count(rows, "visa.appointment.rescheduled.v1"),
        "replan_notifications": _count(rows, "visa.notification.requested.v1"),
        "oneshot_s": round(oneshot_s, 3), "oneshot_solve_ms": base_plans[0].solve_ms,
        "oneshot_moved": _count(base_rows, "visa.appointment.rescheduled.v1"),
        "target_s": REPLAN_TARGET_S, "met": replan_s <= REPLAN_TARGET_S,
    }


async def part_f(centres: int = 50, per_centre: int = 2000,
                 in_parts: bool = True) -> dict[str, Any]:
    """`in_parts`: the routed copies applied as a lane applies them (bench/applying.py),
    else as one batch in one transaction, then read (the way before parts.py)."""
    names = [f"c{i:02d}" for i in range(centres)]
    with tempfile.TemporaryDirectory(prefix="reslot-bench-") as tmp:
        rig = await _rig(tmp, "portal")
        for name in names:  # room for about half: the other half waits
            await rig.feed(list(calendar(name, per_centre, per_centre // 2)))
        with full_collections() as full:
            started = time.perf_counter()
            await rig.feed([outage(names)], Topic.OUTAGES)
            routed = [json.loads(r.value) for r in await rig.drain()]
            records = rig.records(routed, Topic.OUTAGES_BY_CENTRE)
            applied = time.perf_counter()
            steps = await (_in_parts(rig, records, applied) if in_parts
                           else _in_one(rig, records, applied))
            rows = steps.pop("rows")
        total_s = steps.pop("drained") - started
        plans = [p for p in rig.pipeline.recent_plans if p.outage_id == OUTAGE]
        solve_ms = [p.solve_ms for p in plans]
        config = planning_config(Settings())
        solver_s = _solver_alone(rig, names, config)
        await rig.store.close()
    return {
        "centres": centres, "displaced": sum(p.displaced for p in plans),
        "moved": sum(p.moved for p in plans), "waiting": sum(p.unplaced for p in plans),
        "plans": _count(rows, "visa.plan.completed.v1"),
        "notifications": _count(rows, "visa.notification.requested.v1"),
        "total_s": round(total_s, 3), "solve_total_ms": sum(solve_ms),
        "route_s": round(applied - started, 3), **steps,
        "solve_ms_min_median_max": [min(solve_ms), statistics.median(solve_ms), max(solve_ms)],
        "per_centre_solve_ms": {p.centre_id: p.solve_ms for p in plans},
        "baseline_solver_alone_s": round(solver_s, 3),
        "thresholds": gc.get_threshold(), "full_collections": len(full),
        "target_s": PORTAL_TARGET_S, "met": total_s <= PORTAL_TARGET_S,
    }


async def _in_parts(rig: Rig, records: list[InputRecord], applied: float) -> dict[str, Any]:
    relayed = await apply_and_relay(rig.pipeline, rig.store, records)
    keep_long_lived()
    first = relayed.first_at if relayed.first_at is not None else relayed.ended_at
    return {"rows": relayed.rows, "drained": relayed.ended_at, "parts": relayed.parts,
            "first_event_s": round(first - applied, 3)}


async def _in_one(rig: Rig, records: list[InputRecord], applied: float) -> dict[str, Any]:
    prepared = await rig.pipeline.prepare(records)
    planned = time.perf_counter()
    await rig.pipeline.commit(prepared)
    keep_long_lived()
    committed = time.perf_counter()
    rows = await rig.drain()
    drained = time.perf_counter()
    return {"rows": rows, "drained": drained, "parts": 1,
            "first_event_s": round(committed - applied, 3),
            "plan_and_events_s": round(planned - applied, 3),
            "store_write_s": round(committed - planned, 3),
            "outbox_read_s": round(drained - committed, 3)}


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


def print_e(e: dict[str, Any]) -> None:
    print(table("(e) capacity event -> waiting list re-planned, all events in the outbox "
                f"(target <= {REPLAN_TARGET_S} s)",
                ["run", "bookings", "wall s", "solve ms", "placed", "notifications"],
                [["re-plan of the waiting", e["waiting"], e["replan_s"],
                  e["replan_solve_ms"], e["replan_placed"], e["replan_notifications"]],
                 ["baseline: one-shot plan", e["waiting"], e["oneshot_s"],
                  e["oneshot_solve_ms"], e["oneshot_moved"], None]]))


def print_f(f: dict[str, Any]) -> None:
    whole, default = f.get("one_transaction"), f.get("default_gc")
    print(table(f"(f) portal-wide outage, {f['centres']} centres (target <= "
                f"{PORTAL_TARGET_S} s)",
                ["run", "displaced", "moved", "waiting", "notifications", "wall s",
                 "first events s", "solve ms total", "solve ms min/median/max"],
                [["outage -> outbox, as a lane applies it", f["displaced"], f["moved"],
                  f["waiting"], f["notifications"], f["total_s"], f.get("first_event_s"),
                  f["solve_total_ms"], " / ".join(str(x) for x in f["solve_ms_min_median_max"])],
                 *([["baseline: one batch, one transaction", f["displaced"], None, None, None,
                     whole["total_s"], whole["first_event_s"], whole["solve_total_ms"], None]]
                   if whole else []),
                 ["baseline: solver alone", f["displaced"], None, None, None,
                  f["baseline_solver_alone_s"], None, None, None],
                 *([["same as a lane, CPython's default GC pace", f["displaced"], None, None,
                     None, default["total_s"], default.get("first_event_s"),
                     default["solve_total_ms"], None]] if default else [])]))
    print(f"  routing {f['route_s']} s; {f.get('parts', 1)} parts, each written while the "
          f"next is planned, and read (the relay's part) as it is stored")
    if whole:
        print(f"  one transaction: fold + plans + output events {whole['plan_and_events_s']} "
              f"s, store write {whole['store_write_s']} s, outbox read "
              f"{whole['outbox_read_s']} s, one after another")
    if "full_collections" in f:
        print(f"  full garbage collections meanwhile: {f['full_collections']} with the "
              f"scheduler's pace {f.get('gc_thresholds')}, "
              f"{(default or {}).get('full_collections', '-')} with CPython's default")
    print("  per-centre solve ms:", json.dumps(f["per_centre_solve_ms"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="ef")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    from bench.fresh import as_a_scheduler, part_f_beside_default_gc  # it imports this

    if "e" in args.parts:
        print_e(results.setdefault("e", as_a_scheduler("e")))
    if "f" in args.parts:
        print_f(results.setdefault("f", part_f_beside_default_gc()))
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
