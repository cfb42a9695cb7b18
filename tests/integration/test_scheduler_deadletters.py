"""Bad input never crashes the scheduler and never disappears: each kind is dead-lettered
with its reason, the partition moves on, and an operator can list and replay them."""

import asyncio
import base64
import datetime as dt
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.builders import CENTRE, at, booking, centre, line, outage, raw, slots
from tests.conftest import eventually, tables_exist
from tests.integration.chaos import comparable
from tests.integration.scheduler_harness import reslot, running_scheduler, settings_for
from tests.kafka_helpers import end_offsets, read_all

NOW = dt.datetime(2025, 11, 25, 9, 30, tzinfo=dt.UTC)


class FixedClock:
    """The scheduler's clock in these tests: always NOW (monotonic time runs as usual)."""

    def now(self) -> dt.datetime:
        return NOW

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

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


async def test_records_without_a_usable_timestamp_are_dead_lettered_and_the_next_applied(
    kafka: str, tmp_path: Path
) -> None:
    """Kafka timestamps 0 and -1 (none) cannot stamp a contract event: the dead letter gets
    the scheduler's clock instead, and the partition moves on to the next good event."""
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    settings = settings_for(kafka, url)
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    try:
        for timestamp, value in ((0, b"{garbage at 0"), (-1, b"{garbage at -1"),
                                 (0, line("visa.centre.registered.v1", centre()).encode())):
            await (await producer.send("visa.centres.v1", value, key=CENTRE.encode(),
                                       timestamp_ms=timestamp))
        good = line("visa.booking.created.v1", booking("after-bad", at(3, 9))).encode()
        await (await producer.send("visa.bookings.v1", good, key=CENTRE.encode()))
    finally:
        await producer.stop()
    async with running_scheduler(settings, clock=FixedClock()):
        async def dead() -> list[dict]:  # type: ignore[type-arg]
            letters = await read_all(kafka, "visa.deadletter.v1")
            return letters if len(letters) >= 2 else []

        letters = await eventually(dead)
        engine = make_engine(url)

        async def stored() -> bool:
            if not await tables_exist(engine):
                return False
            async with engine.connect() as conn:
                centres = (await conn.execute(sa.select(t.centres.c.centre_id))).scalars().all()
                ids = (await conn.execute(sa.select(t.bookings.c.booking_id))).scalars().all()
            return centres == [CENTRE] and ids == ["after-bad"]

        await eventually(stored)
        await engine.dispose()
    assert sorted(d["data"]["offset"] for d in letters) == [0, 1]
    assert all(d["data"]["error_class"] == "invalid_json" for d in letters)
    assert all(dt.datetime.fromisoformat(d["time"]) == NOW for d in letters)


GOOD = [line("visa.centre.registered.v1", centre()),
        line("visa.slots.published.v1", slots([at(3, 9), at(3, 14), at(4, 9)], 3)),
        line("visa.booking.created.v1", booking("b1", at(3, 9))),
        line("visa.booking.created.v1", booking("b2", at(3, 9))),
        line("visa.outage.declared.v1", outage("o1", at(3, 8), at(3, 12)), subject="")]


def test_reslot_plan_dead_letters_a_bad_line_carries_on_and_strict_fails_after(
    tmp_path: Path
) -> None:
    good = GOOD
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(good) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*good[:3], '{"specversion": "1.0", oops', *good[3:]]) + "\n")
    expected = [json.loads(x) for x in reslot("plan", str(clean)).stdout.splitlines()]
    assert any(e["type"] == "visa.appointment.rescheduled.v1" for e in expected)

    for strict, code in ((False, 0), (True, 1)):
        run = reslot("plan", str(bad), *(["--strict"] if strict else []), check=False)
        assert run.returncode == code, run.stderr
        assert "Traceback" not in run.stderr
        assert "dead letter: line 4: invalid_json" in run.stderr
        out = [json.loads(x) for x in run.stdout.splitlines()]
        [letter] = [e for e in out if e["type"] == "visa.deadletter.v1"]
        assert letter["data"]["offset"] == 4
        assert base64.b64decode(letter["data"]["value"]) == b'{"specversion": "1.0", oops'
        assert [comparable(e) for e in out if e is not letter] == [  # the run carried on
            comparable(e) for e in expected]


@pytest.mark.parametrize("bad", [
    b'{"type": [], "specversion": "1.0"}',  # a type that is no string: TypeError before
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the stack: RecursionError before
    b'{"specversion": "1.0", "type": "visa.slots.published.v1", "n": ' + b"9" * 5000 + b"}",
    b"\xff\xfe\x80 not UTF-8",  # the file was read as UTF-8: UnicodeDecodeError before
])
def test_reslot_plan_dead_letters_any_line_and_prints_every_other_output(
        tmp_path: Path, bad: bytes) -> None:
    clean, hostile = tmp_path / "clean.jsonl", tmp_path / "hostile.jsonl"
    clean.write_text("\n".join(GOOD) + "\n")
    hostile.write_bytes(b"\n".join([*(g.encode() for g in GOOD[:3]), bad,
                                    *(g.encode() for g in GOOD[3:])]) + b"\n")
    expected = [json.loads(x) for x in reslot("plan", str(clean)).stdout.splitlines()]
    run = reslot("plan", str(hostile), check=False)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    out = [json.loads(x) for x in run.stdout.splitlines()]
    [letter] = [e for e in out if e["type"] == "visa.deadletter.v1"]
    assert letter["data"]["offset"] == 4
    assert base64.b64decode(letter["data"]["value"]) == bad
    assert [comparable(e) for e in out if e is not letter] == [comparable(e) for e in expected]
