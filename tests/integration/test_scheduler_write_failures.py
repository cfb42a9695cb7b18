"""The scheduler writes batch k while it applies batch k+1 in memory. When PostgreSQL drops
its connections in the middle of that, nothing is lost: what was not stored is read again
from the stored offsets, and the scheduler ends exactly at the end of every partition."""

import asyncio
import base64
import json
import logging

import asyncpg
import pytest
import sqlalchemy as sa

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics, make_producer
from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.builders import at, booking, centre, line
from tests.conftest import eventually, tables_exist
from tests.integration.scheduler_harness import running_scheduler, settings_for
from tests.kafka_helpers import read_all

CENTRES = [f"wf-{n}" for n in range(6)]
CHUNK = 100  # bookings published at a time, until enough writes were lost
MAX_BOOKINGS = 60_000
RESUMED = "reading again from the stored offsets"


def _bookings(first: int, count: int) -> list[Outgoing]:
    """Bookings first..first+count-1 over the centres, and a bad message every 200th."""
    out = []
    for n in range(first, first + count):
        c = CENTRES[n % len(CENTRES)]
        start = at(1 + (n // 400) % 28, 8 + (n // 20) % 8, 30 * ((n // 10) % 2))
        out.append(Outgoing(Topic.BOOKINGS, c, line(
            "visa.booking.created.v1", booking(f"b{n:05d}", start, centre_id=c)).encode()))
        if n % 200 == 7:
            out.append(Outgoing(Topic.BOOKINGS, c, b"{garbage %d" % n))
    return out


async def _kill_connections(admin_url: str, database: str, stop: asyncio.Event,
                            killed: list[int]) -> None:
    """Until `stop`, every 10 ms: terminate the scheduler's sessions that are in the middle
    of a write (a transaction that has written: it holds a transaction id), and every tenth
    time all of its sessions, reads too. Killing every session every time could
    starve the scheduler on a slow machine: each load failed and was retried, no write was
    ever reached, and the test published all its bookings without losing one. The count so
    far is in killed[0]."""
    admin = await asyncpg.connect(admin_url)
    rounds = 0
    try:
        while not stop.is_set():
            writing = "" if rounds % 10 == 9 else " AND backend_xid IS NOT NULL"
            killed[0] += len(await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()" + writing, database))
            rounds += 1
            await asyncio.sleep(0.01)
    finally:
        await admin.close()


async def test_connections_killed_mid_write_lose_nothing(
    kafka: str, postgres_url: str, fresh_postgres: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="reslot.scheduler")
    settings = settings_for(kafka, fresh_postgres, batch_max_records=50)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    ends: dict[tuple[str, int], int] = {}  # from the acks: Tansu's ListOffsets can lag them
    published: list[Outgoing] = []

    async def publish(messages: list[Outgoing]) -> None:
        sent = [await producer.send(m.topic, m.value, key=m.key.encode()) for m in messages]
        for meta in await asyncio.gather(*sent):
            tp = (meta.topic, meta.partition)
            ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
        published.extend(messages)

    def resumed() -> int:
        return sum(RESUMED in r.getMessage() for r in caplog.records)

    engine = make_engine(fresh_postgres)
    admin_url = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    database = fresh_postgres.rpartition("/")[2]
    stop_killing = asyncio.Event()
    bookings = 0
    try:
        await publish([Outgoing(Topic.CENTRES, c,
                                line("visa.centre.registered.v1", centre(c)).encode())
                       for c in CENTRES])
        async with running_scheduler(settings):
            async def started() -> bool:  # the kills are for the writes, not the start-up
                if not await tables_exist(engine):
                    return False
                async with engine.connect() as conn:
                    return bool((await conn.execute(sa.select(t.offsets))).first())

            await eventually(started)
            killed = [0]
            killer = asyncio.create_task(
                _kill_connections(admin_url, database, stop_killing, killed))
            # Bookings keep coming while sessions are killed, until a write was lost and a
            # few sessions were killed (a fast machine can lose a write at the first kill).
            try:
                while resumed() < 1 or killed[0] < 3:
                    assert bookings < MAX_BOOKINGS, f"no lost write in {bookings} bookings"
                    await publish(_bookings(bookings, CHUNK))
                    bookings += CHUNK
                    await asyncio.sleep(0.01)
            finally:
                stop_killing.set()
                await killer
            assert killed[0] >= 3

            async def all_stored() -> bool:
                async with engine.connect() as conn:
                    offsets = {(r.topic, r.partition): r.offset
                               for r in await conn.execute(sa.select(t.offsets))}
                return all(offsets.get(tp, -1) == end - 1 for tp, end in ends.items())

            await eventually(all_stored, timeout=90)
            async with engine.connect() as conn:
                booked = (await conn.execute(
                    sa.select(t.bookings.c.centre_id, t.bookings.c.booking_id))).all()
            garbage_sent = {m.value for m in published if m.value.startswith(b"{garbage")}

            async def letters_relayed() -> list[dict[str, object]]:
                letters = await read_all(kafka, Topic.DEADLETTER)
                return letters if len({x["id"] for x in letters}) >= len(garbage_sent) else []

            letters = await eventually(letters_relayed, timeout=60)
    finally:
        await producer.stop()
        await engine.dispose()

    # every booking stored once, under its centre (a primary key: twice would not fit)
    assert sorted(b for _, b in booked) == [f"b{n:05d}" for n in range(bookings)]
    assert all(c == CENTRES[int(b[1:]) % len(CENTRES)] for c, b in booked)
    # every bad message dead-lettered, each under one id whatever the retries
    garbage = {base64.b64decode(x["data"]["value"]) for x in letters}
    assert garbage == garbage_sent
    ids_by_value: dict[bytes, set[str]] = {}
    for x in letters:
        ids_by_value.setdefault(base64.b64decode(x["data"]["value"]),
                                set()).add(str(x["id"]))
    assert all(len(ids) == 1 for ids in ids_by_value.values()), json.dumps(
        {k.decode(): sorted(v) for k, v in ids_by_value.items()})
