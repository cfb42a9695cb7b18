"""Read-only queries behind the status API and page: outages, centres, plans, delays."""

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.scheduler.store import codec
from services.scheduler.store import tables as t


class StatusQueries:
    """Read-only queries behind the status API and page."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def outages(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.outages))).all()
            plans = (await conn.execute(sa.select(t.plans))).all()
        by_outage: dict[str, dict[str, Any]] = {}
        for r in rows:
            record = json.loads(r.record)
            entry = by_outage.setdefault(r.outage_id, {
                "outage_id": r.outage_id, "start": record["start"], "end": record["end"],
                "services": record["services"], "reason": record["reason"],
                "active": False, "centres": [], "plans": []})
            entry["active"] = entry["active"] or record["active"]
            entry["centres"].append(r.centre_id)
        for p in plans:
            if p.outage_id in by_outage:
                by_outage[p.outage_id]["plans"].append(json.loads(p.summary))
        return sorted(by_outage.values(), key=lambda o: (not o["active"], o["start"]))

    async def centre(self, centre_id: str) -> dict[str, Any] | None:
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
            plans = (await conn.execute(sa.select(t.plans.c.summary)
                                        .where(t.plans.c.centre_id == centre_id))).all()
        counts = {k: n for k, n in kinds}
        summaries = [json.loads(p.summary) for p in plans]
        return {
            "centre": json.loads(info), "active_bookings": active or 0,
            "capacity": capacity or 0,
            "displaced": sum(p["displaced"] for p in summaries),
            "moved": counts.get("moved", 0), "unplaced": counts.get("unplaced", 0),
            "plans": summaries,
        }

    async def plan(self, plan_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            summary = (await conn.execute(sa.select(t.plans.c.summary)
                                          .where(t.plans.c.plan_id == plan_id))).scalar()
            if summary is None:
                return None
            rows = (await conn.execute(sa.select(t.decisions)
                                       .where(t.decisions.c.plan_id == plan_id)
                                       .order_by(t.decisions.c.booking_id))).all()
        return {**json.loads(summary), "decisions": [
            {"booking_id": r.booking_id, "kind": r.kind, "from_start": r.at_start,
             "to_start": r.to_start, "reason": r.reason} for r in rows]}

    async def plans(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.plans.c.summary))).all()
        return [json.loads(r.summary) for r in rows]

    async def delays_hours(self) -> list[float]:
        """Hours between the old and the new start of every booking moved."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                sa.select(t.decisions.c.at_start, t.decisions.c.to_start)
                .where(t.decisions.c.kind == "moved"))).all()
        return [(codec.parse_ts(r.to_start) - codec.parse_ts(r.at_start)).total_seconds() / 3600
                for r in rows if r.to_start]
