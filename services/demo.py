"""`reslot dev --demo [capago|morocco]`: play a scenario against the running services.

The scenario is first re-dated to the coming week (scenario_dates.py). The calendars and
bookings go first, then the outages once the scheduler has read every calendar (as in real
life). Each plan is printed as it completes. When people are left waiting, the capacity
advice is applied as operations would (an extra session on each advised date, published
as visa.slots.published.v1) and the demo prints how many the waiting list placed. Then
the messages delivered, and a summary.
"""

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry

from schemas.topics import Topic
from services.common.clock import Clock, SystemClock
from services.common.ids import derived_id
from services.common.kafka import Outgoing
from services.common.metrics import Metrics
from services.common.publish import publish, validate_lines
from services.common.settings import Settings
from services.scenario_dates import redate
from services.scheduler.store.calendar import CalendarQueries
from services.web.readmodel import ReadModel

SCENARIOS = {"capago": Path("examples/capago-dz.jsonl"),
             "morocco": Path("examples/morocco-suspension.jsonl")}
PUBLIC_INPUTS = (Topic.CENTRES, Topic.CAPACITY, Topic.BOOKINGS)  # read once each
EXTRA_SESSION = dt.time(16, 0)  # after the usual last slot: where advised places go


def advised_slots(advice: Mapping[str, Mapping[str, Any]], timezones: Mapping[str, str],
                  ) -> list[Outgoing]:
    """The places each centre's latest advice asks for, as operations would publish them:
    one extra session at 16:00 local on each advised date, with the advised places."""
    found = []
    for centre_id, latest in sorted(advice.items()):
        tz = ZoneInfo(timezones[centre_id])
        for extra in latest["extra"]:
            start = dt.datetime.combine(dt.date.fromisoformat(extra["date"]), EXTRA_SESSION, tz)
            event = {
                "specversion": "1.0",
                "id": derived_id("advised", latest["advice_id"], extra["date"], extra["service"]),
                "source": "ops-console", "type": "visa.slots.published.v1",
                "time": latest["time"], "subject": centre_id,
                "data": {"centre_id": centre_id, "service": extra["service"], "slots": [
                    {"start": start.isoformat(), "duration_min": 30,
                     "capacity": extra["places"]}]}}
            found.append(Outgoing(Topic.CAPACITY, centre_id, json.dumps(event).encode()))
    return found


class Demo:
    """One scenario played against running services, watched through their store."""

    def __init__(self, settings: Settings, metrics: Metrics, queries: ReadModel,
                 delivered: CollectorRegistry, stop: asyncio.Event, url: str,
                 clock: Clock | None = None) -> None:
        self.settings, self.metrics, self.queries = settings, metrics, queries
        self.clock = clock or SystemClock()
        self.calendar = CalendarQueries(queries.engine)
        self.delivered, self.stop, self.url = delivered, stop, url
        self.shown: set[str] = set()

    async def play(self, scenario: Path) -> None:
        raw = await asyncio.to_thread(scenario.read_bytes)
        lines, weeks = redate(raw.splitlines(), self.clock.now())
        if weeks:
            say(f"demo: the scenario's dates moved {weeks} week(s) on, so that it is news "
                f"this week (its ids keep their dates)")
        messages, errors = validate_lines(lines)
        if errors:
            raise ValueError(f"{scenario}:{errors[0].number}: {errors[0].reason}")
        calendars = [m for m in messages if m.topic != Topic.OUTAGES]
        outages = [m for m in messages if m.topic == Topic.OUTAGES]
        say(f"demo: publishing {len(calendars)} centre, slot and booking events")
        await publish(self.settings, calendars)
        await self._until(lambda: self._consumed(len(calendars)))
        say(f"demo: the scheduler has read every calendar; declaring {len(outages)} outage(s)")
        await publish(self.settings, outages)
        expected = sum(len(json.loads(m.value)["data"].get("centre_ids") or ())
                       for m in outages if b"visa.outage.declared.v1" in m.value)
        await self._until(lambda: self._plans_shown(expected))
        await self._apply_advice()
        await self._until(self._messages_settled)
        await self._summary()

    async def _apply_advice(self) -> None:
        centres = await self.calendar.centres()
        waiting = sum(c["waiting"] for c in centres.values())
        if not waiting:
            return
        advice = {c: entry["advice"][0] for c, entry in centres.items() if entry["advice"]}
        asked = sum(x["places"] for a in advice.values() for x in a["extra"])
        dates = {x["date"] for a in advice.values() for x in a["extra"]}
        say(f"step 1, the outage: {waiting} applicant(s) waiting for a place; the capacity "
            f"advice asks for {asked} place(s) on {len(dates)} date(s)")
        zones = {c: z for c, z in (await self.queries.zones()).items() if c in advice}
        slots = advised_slots(advice, zones)
        say(f"demo: operations publish the advised places ({len(slots)} extra sessions)")
        await publish(self.settings, slots)
        await self._until(self._waiting_settled(waiting))
        left = sum(c["waiting"] for c in (await self.calendar.centres()).values())
        say(f"step 2, the advice applied: {waiting - left} placed from the waiting list, "
            f"{left} still waiting")

    async def _until(self, done: Callable[[], Awaitable[bool]]) -> None:
        while not self.stop.is_set() and not await done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 1.0)

    async def _consumed(self, expected: int) -> bool:
        seen = int(sum(s.value for m in self.metrics.consumed.collect() for s in m.samples
                       if s.name.endswith("_total") and s.labels.get("topic") in PUBLIC_INPUTS))
        say(f"demo: scheduler consumed {seen}/{expected} events")
        return seen >= expected

    async def _plans_shown(self, expected: int) -> bool:
        for p in sorted(await self.queries.plans(), key=lambda p: (p.outage_id, p.centre_id)):
            if p.plan_id in self.shown:
                continue
            self.shown.add(p.plan_id)
            gap = (p.cost - p.bound) / p.cost if p.cost else 0.0
            say(f"plan {len(self.shown)}  {p.outage_id} @ {p.centre_id}: displaced "
                f"{p.displaced}, moved {p.moved}, unplaced {p.unplaced}  (cost {p.cost}, "
                f"gap {gap:.2%}, {p.status}, {p.solve_ms} ms)")
        return len(self.shown) >= expected

    def _waiting_settled(self, before: int) -> Callable[[], Awaitable[bool]]:
        last = [before, 0]  # waiting count, seconds unchanged

        async def settled() -> bool:
            await self._plans_shown(0)
            now = sum(c["waiting"] for c in (await self.calendar.centres()).values())
            last[1] = last[1] + 1 if now == last[0] else 0
            last[0] = now
            return now == 0 or last[1] >= 3
        return settled

    async def _messages_settled(self) -> bool:
        sent = delivered(self.delivered)
        if sent != getattr(self, "_last_sent", None):
            say(f"messages delivered: {sent[0]} e-mails, {sent[1]} SMS")
            self._last_sent, self._quiet = sent, 0
        else:
            self._quiet = getattr(self, "_quiet", 0) + 1
        return self._quiet >= (3 if sum(sent) else 15)

    async def _summary(self) -> None:
        plans = await self.queries.plans()
        first = [p for p in plans if not (p.restored or p.from_waiting)]
        total = {k: sum(getattr(p, k) for p in first) for k in ("displaced", "moved")}
        placed = sum(p.from_waiting for p in plans)
        left = sum(c["waiting"] for c in (await self.calendar.centres()).values())
        sent = delivered(self.delivered)
        call = " (the centres must call them)" if left else ""
        say(f"\ndemo done: {len(plans)} plans; {total['displaced']} appointments displaced, "
            f"{total['moved']} moved at once, {placed} placed later from the waiting list, "
            f"{left} still waiting{call}; {sent[0]} e-mails and {sent[1]} SMS delivered.\n"
            f"Status page: {self.url}/   (Ctrl-C stops)")


def delivered(registry: CollectorRegistry) -> tuple[int, int]:
    """(e-mails, SMS) delivered, from the notifier's metrics: wherever they were sent."""
    sent = {"email": 0.0, "sms": 0.0}
    for metric in registry.collect():
        for sample in metric.samples:
            if (sample.name == "reslot_notifications_total"
                    and sample.labels.get("outcome") == "delivered"
                    and sample.labels.get("channel") in sent):
                sent[sample.labels["channel"]] += sample.value
    return int(sent["email"]), int(sent["sms"])


def say(line: str) -> None:
    print(line, flush=True)
