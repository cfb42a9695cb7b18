"""Rows written straight into a real scheduler store, standing for the scheduler where the
web front's tests do not test it (the store is the interface between the two, REPLIES.md).

Times are written as the scheduler writes them: UTC ISO text.
"""

import datetime as dt
import json
from typing import Any, overload
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.store.tables import deliveries
from services.notifier.store.tables import metadata as notifier_metadata
from services.scheduler.store import tables as t
from services.scheduler.store.sql import SchedulerStore
from services.web.rows import reply_outcomes

TZ = ZoneInfo("Africa/Algiers")
CENTRE = "capago-alger"
SERVICE = "short_stay"
OUTAGE = "portal-2026-03-02"
PLAN = "plan-1"


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    """A local time at the centre, March 2026 by default."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


@overload
def iso(value: dt.datetime) -> str: ...


@overload
def iso(value: None) -> None: ...


@overload
def iso(value: dt.datetime | None) -> str | None: ...


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


async def open_store(url: str) -> SchedulerStore:
    """The scheduler's store with every table (the replies' outcomes table too)."""
    store = await SchedulerStore.open(url)
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda c: reply_outcomes.metadata.create_all(
            c, tables=[reply_outcomes], checkfirst=True))
    return store


class Rows:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _insert(self, table: sa.Table, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(table).values(**values))

    async def _upsert(self, table: sa.Table, keys: dict[str, Any], **values: Any) -> None:
        async with self.engine.begin() as conn:
            where = [table.c[k] == v for k, v in keys.items()]
            await conn.execute(sa.delete(table).where(*where))
            await conn.execute(sa.insert(table).values(**keys, **values))

    async def centre(self, centre_id: str = CENTRE, name: str = "Capago Alger",
                     timezone: str = "Africa/Algiers") -> None:
        info = {"centre_id": centre_id, "name": name, "city": "Alger", "country": "DZ",
                "timezone": timezone, "address": "Bab Ezzouar, Alger",
                "languages": ["fr", "ar"]}
        await self._upsert(t.centres, {"centre_id": centre_id}, info=json.dumps(info))

    async def slots(self, starts: list[dt.datetime], capacity: int = 1,
                    service: str = SERVICE, centre_id: str = CENTRE, duration: int = 30) -> None:
        for start in starts:
            await self._upsert(t.slots, {"centre_id": centre_id, "service": service,
                                         "start": iso(start)},
                               duration_min=duration, capacity=capacity)

    async def booking(self, booking_id: str, start: dt.datetime, *, service: str = SERVICE,
                      group_id: str | None = None, language: str = "fr",
                      name: str = "Amine Benali", email: str | None = "amine@example.dz",
                      phone: str | None = "+213555000111", status: str = "active",
                      centre_id: str = CENTRE) -> None:
        applicant = {"name": name, "language": language, "email": email, "phone": phone}
        await self._upsert(t.bookings, {"centre_id": centre_id, "booking_id": booking_id},
                           status=status, service=service, slot_start=iso(start),
                           group_id=group_id, category="standard", travel_date=None,
                           applicant=json.dumps(applicant))

    async def fill(self, start: dt.datetime, count: int, prefix: str = "other",
                   service: str = SERVICE) -> None:
        """`count` other applicants holding a place in the slot at `start`."""
        for n in range(count):
            await self.booking(f"{prefix}-{iso(start)}-{n}", start, service=service,
                               name="Someone Else", phone="+213555999000")

    async def outage(self, start: dt.datetime, end: dt.datetime, *,
                     outage_id: str = OUTAGE, services: list[str] | None = None,
                     notice_min: int = 1440, active: bool = True,
                     centre_id: str = CENTRE) -> None:
        record = {"start": iso(start), "end": iso(end), "services": services,
                  "notice_min": notice_min, "announced": iso(start - dt.timedelta(days=3)),
                  "active": active, "reason": "portal maintenance", "revised": None}
        await self._upsert(t.outages, {"centre_id": centre_id, "outage_id": outage_id},
                           record=json.dumps(record))

    async def decision(self, booking_id: str, kind: str, at_start: dt.datetime,
                       to_start: dt.datetime | None = None, *, reason: str = "same_day",
                       plan_id: str = PLAN, outage_id: str = OUTAGE,
                       notification_id: str | None = None, centre_id: str = CENTRE) -> None:
        await self._upsert(t.decisions, {"centre_id": centre_id, "booking_id": booking_id},
                           outage_id=outage_id, plan_id=plan_id, kind=kind,
                           at_start=iso(at_start), reason=reason, to_start=iso(to_start),
                           original_start=None, notification_id=notification_id)

    async def offer(self, booking_id: str, offer_id: str, from_start: dt.datetime,
                    to_start: dt.datetime, reply_by: dt.datetime | None, *,
                    state: str = "open", held: bool = False,
                    phone: str | None = "+213555000111", channel: str | None = None,
                    wants: str | None = None, answered_at: dt.datetime | None = None,
                    plan_id: str = PLAN, centre_id: str = CENTRE,
                    answers: str | None = None) -> None:
        await self._upsert(t.offers, {"centre_id": centre_id, "booking_id": booking_id},
                           offer_id=offer_id, plan_id=plan_id, outage_id=OUTAGE,
                           from_start=iso(from_start), to_start=iso(to_start),
                           reply_by=iso(reply_by), state=state, channel=channel, wants=wants,
                           answered_at=iso(answered_at), held=held, phone=phone,
                           answers=answers)

    async def outcome(self, event_id: str, offer_id: str, outcome: str, reason: str = "",
                      detail: str = "", when: dt.datetime | None = None,
                      centre_id: str = CENTRE) -> None:
        await self._insert(reply_outcomes, event_id=event_id, centre_id=centre_id,
                           offer_id=offer_id, outcome=outcome, reason=reason, detail=detail,
                           at=iso(when or at(1, 9)))

    async def plan(self, plan_id: str = PLAN, *, held: bool = True, displaced: int = 1,
                   moved: int = 1, unplaced: int = 0, centre_id: str = CENTRE,
                   approved_by: str = "") -> None:
        summary = {"approved_by": approved_by, "plan_id": plan_id, "centre_id": centre_id,
                   "outage_id": OUTAGE,
                   "displaced": displaced, "moved": moved, "unplaced": unplaced, "cost": 10,
                   "bound": 10, "status": "optimal", "solve_ms": 3, "trigger": "outage",
                   "held": held}
        await self._upsert(t.plans, {"plan_id": plan_id}, centre_id=centre_id,
                           outage_id=OUTAGE, summary=json.dumps(summary))

    async def call(self, booking_id: str, event_id: str, when: dt.datetime, outcome: str,
                   by: str = "nadia", centre_id: str = CENTRE) -> None:
        await self._insert(t.call_log, centre_id=centre_id, booking_id=booking_id,
                           event_id=event_id, at=iso(when), by=by, outcome=outcome, note="")


async def notifier_rows(engine: AsyncEngine, notification_id: str,
                        states: dict[str, str], when: dt.datetime) -> None:
    """The notifier's deliveries of one message: channel -> state (delivered | failed)."""
    async with engine.begin() as conn:
        await conn.run_sync(notifier_metadata.create_all)
        for channel, state in states.items():
            values = dict(
                notification_id=notification_id, channel=channel, state=state,
                booking_id="-", centre_id=CENTRE, request=None, attempts=1,
                error="refused" if state == "failed" else None, not_before=when, owner=None,
                lease_until=None, reported=True, in_flight=False, created_at=when,
                updated_at=when, finished_at=when)
            # the columns the notifier's store has (its bookkeeping ones change with it)
            await conn.execute(sa.insert(deliveries).values(
                {k: v for k, v in values.items() if k in deliveries.c}))
