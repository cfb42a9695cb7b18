"""examples/morocco-suspension.jsonl through `reslot plan`'s code path (dryrun.py), in two
steps as operations would live them: the suspension (many wait, the capacity advice says
where to add places), then the places published as advised (nearly everyone placed)."""

import json
from collections import Counter
from typing import Any

from services.common.settings import Settings
from services.demo import advised_slots
from services.scheduler.app import planning_config
from services.scheduler.dryrun import dry_run
from services.scheduler.pipeline import Pipeline
from tests.integration.scheduler_harness import ROOT

SCENARIO = ROOT / "examples" / "morocco-suspension.jsonl"
TZ = "Africa/Casablanca"


async def plan(lines: list[str]) -> list[dict[str, Any]]:
    config = planning_config(Settings())
    rows = await dry_run(lines, lambda store: Pipeline(store, config))
    return [json.loads(r.value) for r in rows]


def latest_advice(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    advice = [e for e in events if e["type"] == "visa.capacity.advice.v1"]
    return {a["data"]["centre_id"]: a for a in advice}  # the latest stands, per centre


def advised_lines(advice: dict[str, dict[str, Any]]) -> list[str]:
    """The advised places as `reslot dev --demo morocco` publishes them (services/demo.py)."""
    latest = {c: {"advice_id": a["data"]["advice_id"], "time": a["time"],
                  "extra": a["data"]["extra"]} for c, a in advice.items()}
    return [m.value.decode() for m in advised_slots(latest, dict.fromkeys(latest, TZ))]


def reasons(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["data"]["reason"] for e in events
                   if e["type"] in ("visa.appointment.rescheduled.v1",
                                    "visa.appointment.unplaced.v1"))


async def test_the_advice_applied_places_nearly_everyone() -> None:
    lines = SCENARIO.read_text().splitlines()
    first = await plan(lines)
    plans = [e["data"] for e in first if e["type"] == "visa.plan.completed.v1"]
    displaced = sum(p["displaced"] for p in plans)
    moved = sum(p["moved"] for p in plans)
    waiting = sum(p["unplaced"] for p in plans)
    advice = latest_advice(first)
    asked = sum(x["places"] for a in advice.values() for x in a["data"]["extra"])
    print(f"\nstep 1, suspension: {displaced} displaced, {moved} moved, {waiting} waiting; "
          f"advice asks for {asked} places on "
          f"{len({x['date'] for a in advice.values() for x in a['data']['extra']})} dates")
    assert displaced > 600
    assert waiting > displaced // 3  # ~90 % booked after it: many wait
    assert asked == waiting  # the advice covers exactly the waiting

    second = await plan(lines + advised_lines(advice))
    new = second[len(first):]
    assert [e["id"] for e in second[:len(first)]] == [e["id"] for e in first]
    placed = reasons(new)["from_waiting_list"]
    still = latest_advice(second)
    left = sum(x["places"] for a in still.values() for x in a["data"]["extra"])
    replans = [e["data"] for e in new if e["type"] == "visa.plan.completed.v1"]
    print(f"step 2, advice applied: {placed} placed from the waiting list, {left} still "
          f"waiting ({len(replans)} re-plans, trigger {replans[0]['trigger']})")
    assert placed >= 0.95 * waiting
    assert placed + left == waiting
    assert all(p["trigger"] == "capacity" for p in replans)
