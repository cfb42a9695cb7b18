"""The shared edge helpers: one id scheme, one dead-letter builder, one retry helper."""

import asyncio
import base64
import datetime as dt
import logging
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.envelope import EventError
from services.common.deadletter import deadletter_event, record_time
from services.common.ids import derived_id
from services.common.retry import until_done

NOW = dt.datetime(2026, 12, 6, 14, 0, tzinfo=dt.UTC)
log = logging.getLogger("test")


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_derived_ids_are_uuid5_of_the_joined_parts(parts: list[str]) -> None:
    expected = uuid.uuid5(uuid.UUID("5f1c1a52-8f0e-4d0a-9a57-6c7e5b0b9e10"), "|".join(parts))
    assert derived_id(*parts) == str(expected)


def test_derived_ids_depend_on_every_part_and_only_on_them() -> None:
    assert derived_id("plan", "e1", "c1") == derived_id("plan", "e1", "c1")
    assert derived_id("plan", "e1", "c1") != derived_id("plan", "e1", "c2")
    assert derived_id("a|b") == derived_id("a", "b")  # the separator is part of the scheme


@pytest.mark.parametrize("stamp", [None, 0, -1, 10**15 * 1000, 1000])  # 1000: year 1970
def test_a_record_without_a_usable_timestamp_takes_the_clock(stamp: int | None) -> None:
    assert record_time(stamp, NOW) == NOW


def test_a_record_timestamp_is_used_when_plausible() -> None:
    stamp = int(dt.datetime(2026, 1, 2, tzinfo=dt.UTC).timestamp() * 1000)
    assert record_time(stamp, NOW) == dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def test_a_dead_letter_carries_the_bytes_where_and_why_under_a_stable_id() -> None:
    error = EventError("invalid_json", "not JSON: boom")
    letter = deadletter_event(topic="visa.bookings.v1", partition=2, offset=7, key=b"c1",
                              value=b"\xff{", error=error, service="scheduler",
                              source="reslot/scheduler", at=record_time(0, NOW))
    again = deadletter_event(topic="visa.bookings.v1", partition=2, offset=7, key=b"c1",
                             value=b"\xff{", error=error, service="scheduler",
                             source="reslot/scheduler", at=NOW)
    assert letter.id == again.id
    assert base64.b64decode(letter.data.value) == b"\xff{"
    assert (letter.data.error_class, letter.data.error) == ("invalid_json", "not JSON: boom")
    assert letter.time == NOW


async def test_transient_failures_are_retried_until_the_call_succeeds() -> None:
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("connection refused")
        return "done"

    assert await until_done(flaky, "reach the store", (OSError,), log, first_s=0.001) == "done"
    assert len(calls) == 3


async def test_other_failures_are_not_retried() -> None:
    calls = []

    async def buggy() -> None:
        calls.append(1)
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await until_done(buggy, "reach the store", (OSError,), log, first_s=0.001)
    assert len(calls) == 1


async def test_a_caller_shutting_down_stops_retrying_with_the_last_failure() -> None:
    stop = asyncio.Event()

    async def down() -> None:
        stop.set()
        raise OSError("still down")

    with pytest.raises(OSError, match="still down"):
        await until_done(down, "reach the store", (OSError,), log, first_s=0.001, give_up=stop)


def test_reslot_publish_names_every_line_it_cannot_read_and_sends_nothing_for_them() -> None:
    from services.common.publish import validate_lines
    from tests.builders import centre, line

    good = line("visa.centre.registered.v1", centre()).encode()
    messages, errors = validate_lines([good, b"\xff\xfe\x80", b"", b"[" * 100_000 + b"]" * 100_000,
                                       b'{"type": [], "specversion": "1.0"}'])
    assert [m.value for m in messages] == [good]
    assert [(e.number, e.reason.split(":")[0]) for e in errors] == [
        (2, "invalid_json"), (4, "invalid_json"), (5, "unknown_type")]
