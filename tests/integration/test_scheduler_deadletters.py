"""Bad input never crashes the scheduler and never disappears: each kind is dead-lettered
with its reason, the partition moves on, and an operator can list and replay them."""

import json
from pathlib import Path

import sqlalchemy as sa

from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.builders import CENTRE, at, booking, centre, line, outage, raw
from tests.conftest import eventually, tables_exist
from tests.integration.scheduler_harness import reslot, running_scheduler, settings_for
from tests.kafka_helpers import end_offsets, read_all

BAD = {
    "invalid_json": ("visa.bookings.v1", b"{not json"),
    "not_cloudevent": ("visa.bookings.v1", b'{"hello": "world"}'),
    "unknown_type": ("visa.bookings.v1", json.dumps(
        raw("visa.booking.exploded.v1", {"centre_id": CENTRE})).encode()),
    "schema_invalid": ("visa.bookings.v1", json.dumps(
        raw("visa.booking.created.v1", booking("b9", at(3, 9), category="vip"))).encode()),
    "wrong_topic": ("visa.capacity.v1", line("visa.booking.created.v1",
                                             booking("b8", at(3, 9))).encode()),
    "end_before_start": ("visa.outages.v1", json.dumps(
        raw("visa.outage.declared.v1", outage("o1", at(3, 19), at(3, 15)), subject="")
    ).encode()),
}


async def test_each_kind_of_bad_input_is_dead_lettered(kafka: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    settings = settings_for(kafka, url)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await publish_all(producer, [Outgoing(topic, CENTRE, value) for topic, value in BAD.values()])
    await publish_all(producer, [
        Outgoing("visa.centres.v1", CENTRE, line("visa.centre.registered.v1", centre()).encode()),
        Outgoing("visa.bookings.v1", CENTRE,
                 line("visa.booking.created.v1", booking("good", at(3, 9))).encode())])
    await producer.stop()
    async with running_scheduler(settings):
        async def dead() -> list[dict]:  # type: ignore[type-arg]
            letters = await read_all(kafka, "visa.deadletter.v1")
            return letters if len(letters) >= len(BAD) else []

        letters = await eventually(dead)
        engine = make_engine(url)

        async def good_stored() -> bool:
            if not await tables_exist(engine):
                return False
            async with engine.connect() as conn:
                ids = (await conn.execute(sa.select(t.bookings.c.booking_id))).scalars().all()
            return ids == ["good"]

        await eventually(good_stored)
        await engine.dispose()
    classes = sorted(d["data"]["error_class"] for d in letters)
    assert classes == sorted(["invalid_json", "not_cloudevent", "unknown_type", "schema_invalid",
                              "wrong_topic", "schema_invalid"])
    outage_letter = next(d for d in letters if d["data"]["topic"] == "visa.outages.v1")
    assert "before" in outage_letter["data"]["error"]
    assert all(d["data"]["service"] == "scheduler" for d in letters)

    listed = reslot("deadletters", "list", bootstrap=kafka).stdout
    assert f"{len(BAD)} dead letter(s)" in listed
    assert "invalid_json" in listed
    one = next(d for d in letters if d["data"]["error_class"] == "invalid_json")
    before = sum((await end_offsets(kafka, ["visa.bookings.v1"])).values())
    replayed = reslot("deadletters", "replay", "--id", one["id"], bootstrap=kafka).stdout
    assert "replayed 1 dead letter(s)" in replayed
    assert sum((await end_offsets(kafka, ["visa.bookings.v1"])).values()) == before + 1
