"""Past days leave the store too (domain/retirement.py), on SQLite and on real PostgreSQL:
through the Pipeline as the scheduler applies a batch, the rows of a booking that ended
long ago (its applicant's contacts with it), its decision and offer, and past slots are
deleted, with the calls operators logged for it; what a restart loads is what the running
instance holds."""

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.topics import TOPIC_OF_TYPE, Topic
from services.common.clock import ShiftedClock
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.parsing import InputRecord
from services.scheduler.pipeline import Pipeline
from services.scheduler.store import tables as t
from services.scheduler.store.sql import SchedulerStore
from services.web.rows import OUTCOME_COLUMNS
from tests.builders import CENTRE, TZ, at, booking, centre, line, outage, slots

LATER = dt.datetime(2026, 1, 20, 9, 0, tzinfo=dt.UTC)  # 50 days after b-old's slot
JAN_20 = dt.datetime(2026, 1, 20, 9, 0, tzinfo=TZ)


def records(lines: list[str], first_offset: int) -> list[InputRecord]:
    """Kafka records of `lines`, an outage as its owner routes it to the centre."""
    out = []
    for n, text in enumerate(lines):
        kind = json.loads(text)["type"]
        topic = Topic.OUTAGES_BY_CENTRE if kind.startswith("visa.outage") else TOPIC_OF_TYPE[kind]
        out.append(InputRecord(topic, 0, first_offset + n, CENTRE.encode(), text.encode(), 0))
    return out


async def test_a_past_booking_and_its_rows_leave_the_store(store_url: str) -> None:
    store = await SchedulerStore.open(store_url)
    pipeline = Pipeline(store, planning_config(Settings(retain_past_days=30)),
                        clock=ShiftedClock(LATER + dt.timedelta(days=1)))
    try:
        await pipeline.handle(records([
            line("visa.centre.registered.v1", centre()),
            line("visa.slots.published.v1", slots([at(1, 9), at(2, 9)], capacity=1)),
            line("visa.slots.published.v1", slots([JAN_20], capacity=1)),
            line("visa.booking.created.v1", booking("b-old", at(1, 9))),
            line("visa.outage.declared.v1", outage("o1", at(1, 8), at(1, 12)), subject=CENTRE),
            line("visa.call.logged.v1", {"booking_id": "b-old", "centre_id": CENTRE,
                                         "by": "ops@capago", "outcome": "no_answer",
                                         "note": "his sister answered"}),
        ], 0))
        state = pipeline._centres[CENTRE]
        assert state.bookings["b-old"].slot_start == at(2, 9)  # moved: decision and offer
        assert "b-old" in state.replies.offers
        async with store.engine.connect() as conn:
            assert await _count(conn, t.offers) == 1
            assert await _count(conn, t.call_log) == 1
            assert await _outcomes(conn) == ["b-old"]  # the call's, kept with its booking

        await pipeline.handle(records([  # seven weeks later: b-old's day is long past
            line("visa.booking.created.v1", booking("b-new", JAN_20), time=LATER),
            line("visa.call.logged.v1", {"booking_id": "b-new", "centre_id": CENTRE,
                                         "by": "ops@capago", "outcome": "reached",
                                         "note": "confirmed"}, time=LATER),
        ], 5))
        assert set(state.bookings) == {"b-new"}
        async with store.engine.connect() as conn:
            assert await _ids(conn, t.bookings) == ["b-new"]
            assert await _count(conn, t.decisions) == 0
            assert await _count(conn, t.offers) == 0
            assert await _count(conn, t.call_log) == 1  # an operator's note went with b-old
            assert await _outcomes(conn) == ["b-new"]  # and what was done with its call
            starts = (await conn.execute(sa.select(t.slots.c.start))).scalars().all()
            personal = (await conn.execute(sa.select(t.bookings.c.applicant))).scalars().all()
        assert len(starts) == 1  # 20 Jan stays; 1 and 2 Dec left
        assert not any("b-old@example.dz" in (p or "") for p in personal)

        loaded = (await store.load_centres([CENTRE]))[CENTRE]  # a restart
        assert loaded.bookings == state.bookings
        assert loaded.slots == state.slots
        assert loaded.decisions == state.decisions
        assert loaded.occupancy == {k: n for k, n in state.occupancy.items() if n}
    finally:
        await store.close()


async def _count(conn: AsyncConnection, table: sa.Table) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def _ids(conn: AsyncConnection, table: sa.Table) -> list[str]:
    return sorted((await conn.execute(sa.select(table.c.booking_id))).scalars().all())


async def test_outcomes_stored_before_they_named_their_booking_are_read_and_kept(
        store_url: str) -> None:
    """A store of the previous version gains the column; the web reads the old rows, before
    and after (they name no booking: no retirement takes them)."""
    store = await SchedulerStore.open(store_url)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE reply_outcomes DROP COLUMN booking_id"))
        await conn.execute(sa.text(
            "INSERT INTO reply_outcomes (event_id, centre_id, offer_id, outcome, reason, detail,"
            " at) VALUES ('e1', :c, 'offer-1', 'accepted', '', '', '2025-12-01T09:00:00+00:00')"
        ), {"c": CENTRE})
        assert (await conn.execute(sa.select(*OUTCOME_COLUMNS))).one().offer_id == "offer-1"
    await store.close()
    store = await SchedulerStore.open(store_url)
    try:
        async with store.engine.connect() as conn:
            assert await _outcomes(conn) == [None]
            assert (await conn.execute(sa.select(*OUTCOME_COLUMNS))).one().event_id == "e1"
    finally:
        await store.close()


async def _outcomes(conn: AsyncConnection) -> list[str | None]:
    return sorted((await conn.execute(sa.select(t.reply_outcomes.c.booking_id))).scalars(),
                  key=str)
