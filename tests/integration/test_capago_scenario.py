"""The seed scenario end to end on the real broker: a decision for every displaced booking,
none twice, and the same decisions as `reslot plan` on the same file."""

import asyncio
import json
from pathlib import Path

from schemas.topics import Topic
from services.common.kafka import ensure_topics
from services.common.publish import publish, validate_lines
from tests.conftest import eventually
from tests.integration.scheduler_harness import ROOT, reslot, running_scheduler, settings_for
from tests.kafka_helpers import read_all

SCENARIO = ROOT / "examples" / "capago-dz.jsonl"
DECISIONS = ("visa.appointment.rescheduled.v1", "visa.appointment.unplaced.v1")


def decisions_of(events: list[dict]) -> dict[str, tuple[str, str | None]]:  # type: ignore[type-arg]
    """booking -> (kind, new start); fails on two different answers for one booking."""
    seen: dict[str, dict] = {}  # type: ignore[type-arg]
    for e in events:
        if e["type"] not in DECISIONS:
            continue
        key = e["data"]["booking_id"] + "|" + e["data"]["outage_id"]
        if key in seen:
            assert seen[key]["id"] == e["id"], f"two different decisions for {key}"
        seen[key] = e
    return {k: (e["type"], e["data"].get("to_start")) for k, e in seen.items()}


async def test_capago_scenario_matches_dry_run(kafka: str, tmp_path: Path) -> None:
    planned = [json.loads(x) for x in reslot("plan", str(SCENARIO)).stdout.splitlines()]
    expected = decisions_of(planned)
    assert len(expected) > 100
    completed = [e for e in planned if e["type"] == "visa.plan.completed.v1"]
    assert len(completed) == 8  # two portal outages x four centres
    assert sum(e["data"]["displaced"] for e in completed) == len(expected)

    settings = settings_for(kafka, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    await ensure_topics(settings)
    with SCENARIO.open() as f:
        messages, errors = validate_lines(f)
    assert not errors
    calendars = [m for m in messages if m.topic != Topic.OUTAGES]
    async with running_scheduler(settings) as metrics:
        await publish(settings, calendars)

        async def calendars_read() -> bool:
            return sum(s.value for m in metrics.consumed.collect() for s in m.samples
                       if s.name.endswith("_total")) >= len(calendars)

        await eventually(calendars_read, timeout=120)
        # Two outages have two keys, so Kafka does not order them against each other: each
        # is published once the previous one is planned, as in the file `reslot plan` reads.
        events: list[dict] = []  # type: ignore[type-arg]
        for n, outage in enumerate(m for m in messages if m.topic == Topic.OUTAGES):
            await publish(settings, [outage])

            async def plans_done(count: int = 4 * (n + 1)) -> list[dict]:  # type: ignore[type-arg]
                found = await read_all(kafka, Topic.RESCHEDULES)
                done = [e for e in found if e["type"] == "visa.plan.completed.v1"]
                return found if len({e["id"] for e in done}) == count else []

            events = await eventually(plans_done, timeout=120)
        await asyncio.sleep(1)  # let the relay finish the notifications of the last plan
        notes = await read_all(kafka, Topic.NOTIFICATIONS)
    assert decisions_of(events) == expected
    note_ids = {n["data"]["notification_id"] for n in notes}
    planned_notes = {e["data"]["notification_id"] for e in planned
                     if e["type"] == "visa.notification.requested.v1"}
    assert note_ids == planned_notes
