"""What the front shows, read from the scheduler's store (its tables, never its code).

One query per figure: operations' figures of the living calendar (waiting, placed from the
waiting list, restored, capacity advice) become one more method each when the scheduler
stores them. Times come back in the centre's own time zone (centres.info's `timezone`).
"""

import datetime as dt
import json
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from services.scheduler.store import tables as t
from services.scheduler.store.calendar import CalendarQueries
from services.web.models import (
    Advice,
    Centre,
    CentreInfo,
    Decision,
    Outage,
    Plan,
    PlanSummary,
    Waiting,
)

UTC = "UTC"
M = TypeVar("M", bound=BaseModel)


@cache
def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC  # a zone this machine does not know: show UTC rather than fail


def local(stored: str, zone_name: str) -> dt.datetime:
    """A stored UTC ISO time as the same instant in `zone_name`."""
    return dt.datetime.fromisoformat(stored).astimezone(zone(zone_name))


def shared_zone(zones: set[str]) -> str:
    """The one zone of several centres, or UTC when they differ (or there are none)."""
    return next(iter(zones)) if len(zones) == 1 else UTC


def _known(model: type[M], values: dict[str, Any], **extra: Any) -> M:
    """`model` from a stored JSON object, ignoring fields newer writers may have added."""
    fields = model.model_fields
    return model.model_validate({k: v for k, v in {**values, **extra}.items() if k in fields})


class ReadModel:
    """Read-only queries over the scheduler's tables; each opens its own connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ping(self) -> None:
        """Readiness: the database answers and the scheduler has created its tables."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.select(t.plans.c.plan_id).limit(1))

    async def zones(self) -> dict[str, str]:
        """Centre id -> IANA time zone, from every centre's registration."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.centres))).all()
        return {r.centre_id: json.loads(r.info).get("timezone") or UTC for r in rows}

    async def plans(self) -> list[PlanSummary]:
        zones = await self.zones()
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.plans.c.summary))).all()
        return [_summary(json.loads(r.summary), zones) for r in rows]

    async def plan(self, plan_id: str) -> Plan | None:
        async with self.engine.connect() as conn:
            summary = (await conn.execute(sa.select(t.plans.c.summary)
                                          .where(t.plans.c.plan_id == plan_id))).scalar()
            if summary is None:
                return None
            rows = (await conn.execute(sa.select(t.decisions)
                                       .where(t.decisions.c.plan_id == plan_id)
                                       .order_by(t.decisions.c.booking_id))).all()
        stored = json.loads(summary)
        tz = (await self.zones()).get(stored["centre_id"], UTC)
        decisions = [Decision(
            booking_id=r.booking_id, kind=r.kind, from_start=local(r.at_start, tz),
            to_start=local(r.to_start, tz) if r.to_start else None, reason=r.reason)
            for r in rows]
        return _known(Plan, stored, timezone=tz, decisions=decisions)

    async def outages(self) -> list[Outage]:
        """Active outages first, then by start; each with its plans and their totals."""
        zones = await self.zones()
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.outages))).all()
            plan_rows = (await conn.execute(sa.select(t.plans.c.summary))).all()
        records: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for r in rows:
            records.setdefault(r.outage_id, []).append((r.centre_id, json.loads(r.record)))
        plans: dict[str, list[PlanSummary]] = {o: [] for o in records}
        for p in plan_rows:
            summary = _summary(json.loads(p.summary), zones)
            if summary.outage_id in plans:
                plans[summary.outage_id].append(summary)
        found = [_outage(o, at, plans[o], zones) for o, at in records.items()]
        return sorted(found, key=lambda o: (not o.active, o.start))

    async def centre(self, centre_id: str) -> Centre | None:
        async with self.engine.connect() as conn:
            info = (await conn.execute(sa.select(t.centres.c.info)
                                       .where(t.centres.c.centre_id == centre_id))).scalar()
            if info is None:
                return None
            active = (await conn.execute(sa.select(sa.func.count()).select_from(t.bookings).where(
                t.bookings.c.centre_id == centre_id, t.bookings.c.status == "active"))).scalar()
            capacity = (await conn.execute(sa.select(sa.func.sum(t.slots.c.capacity))
                                           .where(t.slots.c.centre_id == centre_id))).scalar()
            kinds = (await conn.execute(
                sa.select(t.decisions.c.kind, sa.func.count())
                .where(t.decisions.c.centre_id == centre_id).group_by(t.decisions.c.kind))).all()
            rows = (await conn.execute(sa.select(t.plans.c.summary)
                                       .where(t.plans.c.centre_id == centre_id))).all()
        registered = _known(CentreInfo, json.loads(info))
        plans = [_summary(json.loads(r.summary), {centre_id: registered.timezone}) for r in rows]
        counts = {kind: n for kind, n in kinds}
        living = await CalendarQueries(self.engine).centre(centre_id)
        return Centre(centre=registered, active_bookings=active or 0, capacity=capacity or 0,
                      displaced=sum(p.displaced for p in plans), moved=counts.get("moved", 0),
                      unplaced=counts.get("unplaced", 0), plans=plans,
                      calendar=_waiting(centre_id, living, registered.timezone))

    async def waiting(self) -> list[Waiting]:
        """Per centre that ever had someone displaced: its waiting list and latest advice."""
        zones = await self.zones()
        found = await CalendarQueries(self.engine).centres()
        return [_waiting(c, entry, zones.get(c, UTC)) for c, entry in sorted(found.items())]

    async def moved_delays_h(self) -> list[float]:
        """Hours between the old and the new start of every booking moved."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                sa.select(t.decisions.c.at_start, t.decisions.c.to_start)
                .where(t.decisions.c.kind == "moved"))).all()
        return [(dt.datetime.fromisoformat(r.to_start)
                 - dt.datetime.fromisoformat(r.at_start)).total_seconds() / 3600
                for r in rows if r.to_start]


def _waiting(centre_id: str, entry: dict[str, Any], tz: str) -> Waiting:
    advice = [Advice(outage_id=a["outage_id"], advice_id=a["advice_id"],
                     time=local(a["time"], tz), waiting=a["waiting"],
                     places=sum(x["places"] for x in a["extra"]), extra=a["extra"])
              for a in entry["advice"]]
    return Waiting(centre_id=centre_id, waiting=entry["waiting"],
                   placed_from_waiting=entry["placed_from_waiting"],
                   restored=entry["restored"], advice=advice)


def _summary(stored: dict[str, Any], zones: dict[str, str]) -> PlanSummary:
    return _known(PlanSummary, stored, timezone=zones.get(stored["centre_id"], UTC))


def _outage(outage_id: str, at: list[tuple[str, dict[str, Any]]], plans: list[PlanSummary],
            zones: dict[str, str]) -> Outage:
    """One outage from its record at each centre (the same window everywhere it applies)."""
    centres = [c for c, _ in at]
    tz = shared_zone({zones.get(c, UTC) for c in centres})
    first = at[0][1]
    return Outage(
        outage_id=outage_id, start=local(first["start"], tz), end=local(first["end"], tz),
        timezone=tz, services=first["services"], reason=first["reason"] or "",
        active=any(record["active"] for _, record in at), centres=centres,
        displaced=sum(p.displaced for p in plans), moved=sum(p.moved for p in plans),
        unplaced=sum(p.unplaced for p in plans),
        plans=sorted(plans, key=lambda p: p.centre_id))
