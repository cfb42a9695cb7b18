"""The living calendar on real parts: its state in the store (SQLite, then PostgreSQL), and
on the real broker: outage, advice, slots published as advised, the waiting placed, each
notification requested once; `reslot plan` on the same events gives the same decisions."""

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from schemas.topics import Topic
from services.common.kafka import ensure_topics
from services.common.publish import publish, validate_lines
from services.scheduler.domain.routing import Route, route
from services.scheduler.store.calendar import CalendarQueries
from services.scheduler.store.sql import SchedulerStore
from tests.builders import CENTRE, TZ, at, booking, centre, ev, line, outage, slots
from tests.conftest import eventually
from tests.integration.scheduler_harness import reslot, running_scheduler, settings_for
from tests.kafka_helpers import read_all
from tests.unit.living import published, run, waiting_calendar

DAYS = [at(d, h) for d in (3, 4, 7, 8) for h in (9, 10, 11, 12)]  # Algiers: Sunday-Thursday


async def test_living_state_round_trips(store_url: str) -> None:
    state = waiting_calendar()
    run(state, ev("visa.booking.created.v1", booking("b2", at(3, 17))))  # waits too
    run(state, published([at(5, 9)], eid="one"))  # b1 (or b2) placed from the waiting list
    routes: dict[str, Route] = {}
    route(routes, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19),
                                                       notice_min=90), subject=""))
    store = await SchedulerStore.open(store_url)
    try:
        await store.commit([state], routes, {("visa.bookings.v1", 0): 7}, [])
        loaded = (await store.load_centres([CENTRE]))[CENTRE]
        assert loaded.decisions == state.decisions
        assert loaded.waiting == state.waiting
        assert len(loaded.waiting) == 1
        assert loaded.tally == state.tally
        assert loaded.advice == state.advice
        assert loaded.outages == state.outages
        stored = (await store.load_routes(["o1"]))["o1"]
        assert stored.declared is not None
        assert stored.declared.data.notice_min == 90
        counts = await CalendarQueries(store.engine).centre(CENTRE)
        assert (counts["waiting"], counts["placed_from_waiting"], counts["restored"]) == (1, 1, 0)
        assert [a["outage_id"] for a in counts["advice"]] == ["o1"]
        assert sum(x["places"] for x in counts["advice"][0]["extra"]) == 1
    finally:
        await store.close()


async def test_a_store_made_before_v1_1_gains_its_columns(store_url: str) -> None:
    store = await SchedulerStore.open(store_url)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE decisions DROP COLUMN original_start"))
        await conn.execute(sa.text("ALTER TABLE outage_routes DROP COLUMN declared"))
    await store.close()
    store = await SchedulerStore.open(store_url)
    try:
        state = waiting_calendar()
        await store.commit([state], {}, {}, [])
        assert (await store.load_centres([CENTRE]))[CENTRE].decisions == state.decisions
    finally:
        await store.close()


def calendar_lines() -> list[str]:
    """16 places over four days, all booked; ten more bookings on 3 Dec; 3 Dec stopped."""
    return [
        line("visa.centre.registered.v1", centre()),
        line("visa.slots.published.v1", slots(DAYS, capacity=2)),
        *(line("visa.booking.created.v1", booking(f"p{i}-{n}", t))
          for i, t in enumerate(DAYS) for n in range(2)),
        *(line("visa.booking.created.v1", booking(f"w{i}", at(3, 9 + i % 4))) for i in range(10)),
    ]


OUTAGE_LINE = line("visa.outage.declared.v1", outage("o1", at(3, 8), at(3, 18)), subject="")


def advised_lines(advice: dict[str, Any]) -> list[str]:
    """Operations follow the advice: an extra session at 16:00 on each advised date."""
    return [line("visa.slots.published.v1",
                 slots([dt.datetime.combine(dt.date.fromisoformat(x["date"]), dt.time(16), TZ)],
                       capacity=x["places"], service=x["service"]),
                 eid=f"advised-{x['date']}-{x['service']}")
            for x in advice["extra"]]


def decisions_of(events: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    kinds = ("visa.appointment.rescheduled.v1", "visa.appointment.unplaced.v1")
    return sorted((e["id"], e["data"]["booking_id"], e["type"], e["data"].get("to_start") or "",
                   e["data"]["reason"]) for e in events if e["type"] in kinds)


async def publish_lines(settings: Any, lines: list[str]) -> None:
    messages, errors = validate_lines(lines)
    assert not errors
    await publish(settings, messages)


async def test_advice_followed_places_the_waiting(kafka: str, tmp_path: Path) -> None:
    settings = settings_for(kafka, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    await ensure_topics(settings)
    async with running_scheduler(settings) as metrics:
        await publish_lines(settings, calendar_lines())

        async def consumed() -> bool:
            return sum(s.value for m in metrics.consumed.collect() for s in m.samples
                       if s.name.endswith("_total")) >= len(calendar_lines())

        await eventually(consumed, timeout=60)
        await publish_lines(settings, [OUTAGE_LINE])

        async def advised() -> list[dict[str, Any]]:
            found = await read_all(kafka, Topic.RESCHEDULES)
            return [e for e in found if e["type"] == "visa.capacity.advice.v1"]

        (advice,) = [a["data"] for a in await eventually(advised, timeout=60)]
        assert sum(x["places"] for x in advice["extra"]) == 18  # 10 + the 8 booked that day
        await eventually(lambda: _async(gauge(metrics, "reslot_waiting") == {(CENTRE,): 18.0}))
        advised_events = advised_lines(advice)
        await publish_lines(settings, advised_events)

        async def placed() -> list[dict[str, Any]]:
            found = await read_all(kafka, Topic.RESCHEDULES)
            moved = [e for e in found if e["type"] == "visa.appointment.rescheduled.v1"
                     and e["data"]["reason"] == "from_waiting_list"]
            empty = [e for e in found if e["type"] == "visa.capacity.advice.v1"
                     and not e["data"]["extra"]]
            return found if len(moved) == 18 and empty else []

        events = await eventually(placed, timeout=60)

        async def requested() -> list[dict[str, Any]]:
            notes = await read_all(kafka, Topic.NOTIFICATIONS)
            return notes if len(notes) >= 36 else []

        notes = await eventually(requested, timeout=30)
        await eventually(lambda: _async(gauge(metrics, "reslot_waiting") == {(CENTRE,): 0.0}))
    ids = Counter(n["data"]["notification_id"] for n in notes)
    assert len(ids) == 36
    assert set(ids.values()) == {1}
    latest = {n["data"]["booking_id"]: n["data"] for n in notes
              if n["data"]["template"] == "appointment_rescheduled"}
    first = {n["data"]["booking_id"]: n["data"]["notification_id"] for n in notes
             if n["data"]["template"] == "appointment_unplaced"}
    assert {b: tuple(n["supersedes"]) for b, n in latest.items()} == {
        b: (i,) for b, i in first.items()}

    file = tmp_path / "same.jsonl"
    file.write_text("\n".join([*calendar_lines(), OUTAGE_LINE, *advised_events]) + "\n")
    planned = [json.loads(x) for x in reslot("plan", str(file)).stdout.splitlines()]
    assert decisions_of(planned) == decisions_of(events)
    assert sorted(ids) == sorted(e["data"]["notification_id"] for e in planned
                                 if e["type"] == "visa.notification.requested.v1")


def gauge(metrics: Any, name: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.values()): s.value for m in metrics.registry.collect()
            for s in m.samples if s.name == name}


async def _async(value: bool) -> bool:
    return value
