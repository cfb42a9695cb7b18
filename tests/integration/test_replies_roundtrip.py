"""Replies on the real broker: published to visa.replies.v1 and visa.ops.v1, folded by the
scheduler with their outcomes in its store; `reslot plan` on the same events decides the
same; no answer by reply_by is confirmed by the scheduler once, across a restart."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from schemas.topics import Topic
from services.common.clock import ShiftedClock
from services.common.ids import derived_id
from services.common.kafka import ensure_topics
from services.common.publish import publish, validate_lines
from services.common.settings import Settings
from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.builders import ANNOUNCED, CENTRE, at, booking, centre, line, outage, slots
from tests.conftest import eventually, tables_exist
from tests.integration.scheduler_harness import reslot, running_scheduler, settings_for
from tests.kafka_helpers import read_all

REPLIED = ANNOUNCED + dt.timedelta(hours=2)
ANSWERS = ("visa.appointment.rescheduled.v1", "visa.appointment.unplaced.v1",
           "visa.offer.refused.v1", "visa.appointment.cancelled.v1")


def calendar(bookings: int) -> list[str]:
    """`bookings` on 3 Dec afternoon, one place each on 4 Dec, two on 5 Dec 9:00; the
    outage of 3 Dec afternoon."""
    return [
        line("visa.centre.registered.v1", centre()),
        line("visa.slots.published.v1", slots([at(3, 16 + i) for i in range(bookings)],
                                              capacity=1), eid="day3"),
        line("visa.slots.published.v1", slots([at(4, 9 + i) for i in range(bookings)],
                                              capacity=1), eid="day4"),
        line("visa.slots.published.v1", slots([at(5, 9)], capacity=2), eid="day5"),
        *(line("visa.booking.created.v1", booking(f"b{i}", at(3, 16 + i)))
          for i in range(bookings)),
        line("visa.outage.declared.v1", outage("o1", at(3, 13), at(3, 20)), subject=""),
    ]


def answer(kind: str, offer: dict[str, Any], eid: str, **data: Any) -> str:
    return line(f"visa.offer.{kind}.v1", {"offer_id": offer["id"],
                                          "booking_id": offer["data"]["booking_id"],
                                          "centre_id": CENTRE, "channel": "web", **data},
                eid=eid, time=REPLIED)


def replies(offers: dict[str, dict[str, Any]]) -> list[str]:
    """What applicants and an operator answer: each rule once, and repeats."""
    confirm = answer("confirmed", offers["b0"], "r1")
    return [
        confirm,
        answer("declined", offers["b1"], "r2", wants="call_me"),
        answer("changed", offers["b2"], "r3", slot_start=at(5, 9).isoformat()),
        confirm,  # a double click: the same event id again
        answer("declined", offers["b0"], "r4", wants="cancel"),  # a second answer
        line("visa.call.logged.v1", {"booking_id": "b1", "centre_id": CENTRE,
                                     "by": "ops@capago", "outcome": "reached"},
             eid="c1", time=REPLIED),
    ]


async def publish_lines(settings: Settings, lines: list[str]) -> None:
    messages, errors = validate_lines(lines)
    assert not errors
    await publish(settings, messages)


async def offers_published(kafka: str, count: int) -> dict[str, dict[str, Any]]:
    async def moved() -> dict[str, dict[str, Any]]:
        found = {e["data"]["booking_id"]: e for e in await read_all(kafka, Topic.RESCHEDULES)
                 if e["type"] == "visa.appointment.rescheduled.v1"}
        return found if len(found) >= count else {}

    offers: dict[str, dict[str, Any]] = await eventually(moved, timeout=60)
    return offers


def answers_of(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return sorted((e["id"], e["type"], e["data"]["booking_id"],
                   e["data"].get("reason") or "") for e in events if e["type"] in ANSWERS)


async def rows(url: str, table: sa.Table) -> list[Any]:
    engine = make_engine(url)
    try:
        if not await tables_exist(engine):
            return []
        async with engine.connect() as conn:
            return list(await conn.execute(sa.select(table)))
    finally:
        await engine.dispose()


async def test_replies_are_folded_with_their_outcomes_and_plan_gives_the_same(
        kafka: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    settings = settings_for(kafka, url)
    await ensure_topics(settings)
    async with running_scheduler(settings, clock=ShiftedClock(ANNOUNCED)):
        await publish_lines(settings, calendar(3))
        offers = await offers_published(kafka, 3)
        answered = replies(offers)
        await publish_lines(settings, answered)

        async def folded() -> dict[str, Any]:
            found = {r.event_id: r for r in await rows(url, t.reply_outcomes)}
            return found if len(found) == 5 else {}

        outcomes = await eventually(folded, timeout=60)

        async def told() -> list[dict[str, Any]]:
            found = await read_all(kafka, Topic.RESCHEDULES)
            return found if any(e["type"] == "visa.offer.refused.v1" for e in found) else []

        events = await eventually(told, timeout=30)
    assert {k: (o.outcome, o.reason) for k, o in outcomes.items()} == {
        "r1": ("accepted", ""), "r2": ("accepted", ""), "r3": ("accepted", ""),
        "r4": ("refused", "already_answered"), "c1": ("accepted", "")}
    stored = {r.booking_id: r for r in await rows(url, t.offers)}
    assert (stored["b0"].state, stored["b0"].channel) == ("confirmed", "web")
    assert (stored["b1"].state, stored["b1"].wants) == ("declined", "call_me")
    assert (stored["b2"].state, stored["b2"].answers) == ("confirmed", offers["b2"]["id"])
    assert stored["b2"].to_start == at(5, 9).astimezone(dt.UTC).isoformat()
    assert [(c.booking_id, c.outcome) for c in await rows(url, t.call_log)] == [("b1", "reached")]
    chosen = [e for e in events if e["type"] == "visa.appointment.rescheduled.v1"
              and e["data"]["reason"] == "applicant_choice"]
    assert [e["data"]["booking_id"] for e in chosen] == ["b2"]

    file = tmp_path / "same.jsonl"
    file.write_text("\n".join([*calendar(3), *answered]) + "\n")
    planned = [json.loads(x) for x in reslot("plan", str(file)).stdout.splitlines()]
    assert answers_of(planned) == answers_of(events)
    assert len(answers_of(events)) == 5  # three offers, the change, the refusal


async def test_no_answer_by_reply_by_is_confirmed_once_across_a_restart(
        kafka: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    settings = settings_for(kafka, url, reply_tick_s=0.2)
    await ensure_topics(settings)
    async with running_scheduler(settings, clock=ShiftedClock(ANNOUNCED)):
        await publish_lines(settings, calendar(2))
        offers = await offers_published(kafka, 2)

        async def stored() -> list[Any]:
            found = await rows(url, t.offers)
            return found if len(found) == 2 else []

        before = await eventually(stored, timeout=30)
    assert {o.state for o in before} == {"open"}  # stopped before reply_by
    reply_by = max(dt.datetime.fromisoformat(o.reply_by) for o in before)
    later = ShiftedClock(reply_by + dt.timedelta(minutes=1))  # the clock moved past it

    async def confirmed() -> list[Any]:
        found = await rows(url, t.offers)
        return found if {(o.state, o.channel) for o in found} == {("confirmed", "timeout")} \
            else []

    async with running_scheduler(settings, clock=later):
        after = await eventually(confirmed, timeout=60)
    async with running_scheduler(settings, clock=later):  # and once more: nothing new
        await eventually(confirmed, timeout=30)
        await later.sleep(2.0)  # ten ticks
    timeouts = [e for e in await read_all(kafka, Topic.REPLIES)
                if e["data"]["channel"] == "timeout"]
    assert sorted(e["id"] for e in timeouts) == sorted(
        derived_id("timeout", o["id"]) for o in offers.values())
    assert {o.timeout_at >= o.reply_by for o in after} == {True}
    outcomes = await rows(url, t.reply_outcomes)
    assert sorted((o.outcome, o.event_id) for o in outcomes) == sorted(
        ("accepted", e["id"]) for e in timeouts)
