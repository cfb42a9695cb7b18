"""Platform round trip: `reslot publish` to a real broker, consumed and stored by the scheduler."""

from pathlib import Path

import sqlalchemy as sa

from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.builders import at, booking, centre, line, slots
from tests.conftest import eventually, tables_exist
from tests.integration.scheduler_harness import reslot, running_scheduler, settings_for
from tests.kafka_helpers import read_all


async def test_published_events_are_consumed_and_stored(kafka: str, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        line("visa.centre.registered.v1", centre()),
        line("visa.slots.published.v1", slots([at(3, 9), at(3, 10)])),
        line("visa.booking.created.v1", booking("b1", at(3, 9))),
    ]) + "\n")
    url = f"sqlite+aiosqlite:///{tmp_path / 'scheduler.db'}"
    async with running_scheduler(settings_for(kafka, url)) as metrics:
        result = reslot("publish", str(events), bootstrap=kafka)
        assert "published 3 event(s)" in result.stdout
        engine = make_engine(url)

        async def stored() -> bool:
            if not await tables_exist(engine):
                return False
            async with engine.connect() as conn:
                booked = (await conn.execute(sa.select(t.bookings.c.booking_id))).scalars().all()
                offsets = (await conn.execute(sa.select(t.offsets))).all()
            return booked == ["b1"] and len(offsets) == 3

        await eventually(stored)
        await engine.dispose()

        def gauge(name: str) -> dict[tuple[str, ...], float]:
            return {tuple(s.labels.values()): s.value for m in metrics.registry.collect()
                    for s in m.samples if s.name == name}

        async def observed() -> bool:
            lag = gauge("reslot_consumer_lag")
            bookings = [v for (topic, _, _), v in lag.items() if topic == "visa.bookings.v1"]
            caught_up = len(bookings) == 6 and all(v == 0 for v in bookings)
            return caught_up and gauge("reslot_outbox_backlog").get(()) == 0

        await eventually(observed)


async def test_publish_of_a_file_with_a_bad_line_publishes_nothing(
    kafka: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        line("visa.centre.registered.v1", centre()),
        '{"specversion": "1.0", "type": "visa.booking.created.v1"',
        line("visa.booking.created.v1", booking("b1", at(3, 9))),
    ]) + "\n")
    result = reslot("publish", str(events), bootstrap=kafka, check=False)
    assert result.returncode == 1
    assert "events.jsonl:2: invalid_json" in result.stderr
    assert "nothing published" in result.stderr
    assert await read_all(kafka, "visa.centres.v1") == []
    assert await read_all(kafka, "visa.bookings.v1") == []

