"""The read model on the scheduler's own tables (SQLite, then PostgreSQL): times in each
centre's zone, an outage over centres in several zones in UTC, and rows written by a newer
scheduler (fields it does not know) read without failing."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.scheduler.store import tables as t
from services.scheduler.store.sql import SchedulerStore, make_engine
from services.web.readmodel import ReadModel

pytestmark = pytest.mark.integration

UTC_START, UTC_END = "2025-12-03T13:00:00+00:00", "2025-12-03T16:00:00+00:00"


def centre(centre_id: str, zone: str) -> dict[str, object]:
    return {"centre_id": centre_id, "name": centre_id.title(), "city": centre_id.title(),
            "country": "DZ", "timezone": zone, "address": "1 rue X", "languages": ["fr"],
            "added_by_a_newer_scheduler": True}


def summary(plan_id: str, centre_id: str, displaced: int, moved: int) -> dict[str, object]:
    return {"plan_id": plan_id, "centre_id": centre_id, "outage_id": "o1",
            "displaced": displaced, "moved": moved, "unplaced": displaced - moved,
            "cost": 10, "bound": 10, "status": "optimal", "solve_ms": 3, "trigger": "outage"}


def outage(active: bool) -> str:
    return json.dumps({"start": UTC_START, "end": UTC_END, "services": None, "notice_min": 0,
                       "announced": UTC_START, "active": active, "reason": "portal down"})


@pytest.fixture
async def read_model(store_url: str) -> AsyncIterator[ReadModel]:
    store = await SchedulerStore.open(store_url)  # the scheduler's schema, as it makes it
    async with store.engine.begin() as conn:
        await conn.execute(sa.insert(t.centres), [
            {"centre_id": "alger", "info": json.dumps(centre("alger", "Africa/Algiers"))},
            {"centre_id": "dakar", "info": json.dumps(centre("dakar", "Africa/Dakar"))}])
        await conn.execute(sa.insert(t.outages), [
            {"centre_id": "alger", "outage_id": "o1", "record": outage(active=False)},
            {"centre_id": "dakar", "outage_id": "o1", "record": outage(active=True)}])
        await conn.execute(sa.insert(t.plans), [
            {"plan_id": "p-alger", "centre_id": "alger", "outage_id": "o1",
             "summary": json.dumps(summary("p-alger", "alger", 2, 1))},
            {"plan_id": "p-dakar", "centre_id": "dakar", "outage_id": "o1",
             "summary": json.dumps(summary("p-dakar", "dakar", 1, 1))}])
        await conn.execute(sa.insert(t.decisions), [
            {"centre_id": "alger", "booking_id": "b1", "outage_id": "o1", "plan_id": "p-alger",
             "kind": "moved", "at_start": "2025-12-03T13:30:00+00:00", "reason": "same_day",
             "to_start": "2025-12-03T08:00:00+00:00"},
            {"centre_id": "alger", "booking_id": "b2", "outage_id": "o1", "plan_id": "p-alger",
             "kind": "unplaced", "at_start": "2025-12-03T14:00:00+00:00",
             "reason": "no_capacity_in_horizon", "to_start": None}])
    try:
        yield ReadModel(store.engine)
    finally:
        await store.close()


async def test_decisions_are_in_the_centres_zone(read_model: ReadModel) -> None:
    plan = await read_model.plan("p-alger")
    assert plan is not None
    assert plan.timezone == "Africa/Algiers"
    moved, unplaced = plan.decisions
    assert moved.from_start.isoformat() == "2025-12-03T14:30:00+01:00"
    assert moved.to_start is not None
    assert moved.to_start.isoformat() == "2025-12-03T09:00:00+01:00"
    assert unplaced.to_start is None
    assert await read_model.plan("nowhere") is None


async def test_an_outage_over_several_zones_is_given_in_utc(read_model: ReadModel) -> None:
    (o,) = await read_model.outages()
    assert o.timezone == "UTC"
    assert o.start.isoformat() == UTC_START
    assert o.active is True  # still active at one centre
    assert sorted(o.centres) == ["alger", "dakar"]
    assert [p.centre_id for p in o.plans] == ["alger", "dakar"]
    assert (o.displaced, o.moved, o.unplaced) == (3, 2, 1)
    assert {p.plan_id: p.timezone for p in await read_model.plans()} == {
        "p-alger": "Africa/Algiers", "p-dakar": "Africa/Dakar"}


async def test_centre_figures_and_the_other_figures(read_model: ReadModel) -> None:
    found = await read_model.centre("alger")
    assert found is not None
    assert found.centre.timezone == "Africa/Algiers"
    assert (found.displaced, found.moved, found.unplaced) == (2, 1, 1)
    assert await read_model.centre("nowhere") is None
    assert await read_model.moved_delays_h() == [-5.5]
    assert await read_model.zones() == {"alger": "Africa/Algiers", "dakar": "Africa/Dakar"}
    await read_model.ping()


async def test_ping_fails_until_the_scheduler_made_its_tables(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(sa.exc.OperationalError):
            await ReadModel(engine).ping()
    finally:
        await engine.dispose()
