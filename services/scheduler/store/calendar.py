"""The v1.1 living calendar in the store: per-centre counts and the latest advice.

Written with the rest of a batch's state (one transaction), loaded with a centre, and
read by the status API and page (`CalendarQueries`): per centre, how many wait, how many
were placed from the waiting list or restored, and the latest advice per outage.
"""

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas import data as d
from services.scheduler.domain.state import AdviceRec, CentreState, Tally
from services.scheduler.store import codec
from services.scheduler.store import tables as t
from services.scheduler.store.bulk import Row


def _extra_json(extra: Sequence[d.ExtraPlaces]) -> str:
    return json.dumps([{"date": x.date.isoformat(), "service": x.service, "places": x.places}
                       for x in extra])


def _extra_of(text: str) -> tuple[d.ExtraPlaces, ...]:
    return tuple(d.ExtraPlaces(date=dt.date.fromisoformat(x["date"]), service=x["service"],
                               places=x["places"]) for x in json.loads(text))


def calendar_rows(states: Sequence[CentreState]) -> dict[str, list[Row]]:
    """The rows of what changed in each centre's waiting list, counts and advice."""
    rows: dict[str, list[Row]] = {t.calendar.name: [], t.advice.name: []}
    for s in states:
        if s.dirty_tally:
            rows[t.calendar.name].append((s.centre_id, len(s.waiting),
                                          s.tally.placed_from_waiting, s.tally.restored))
        for outage_id in sorted(s.dirty_advice):
            a = s.advice[outage_id]
            rows[t.advice.name].append((s.centre_id, outage_id, a.advice_id, codec.ts(a.time),
                                        a.basis, a.waiting, _extra_json(a.extra)))
    return rows


async def load_calendar(conn: AsyncConnection, states: dict[str, CentreState]) -> None:
    """Counts and advice of the centres in `states` (already holding their decisions)."""
    ids = sorted(states)
    query = sa.select(t.calendar).where(t.calendar.c.centre_id.in_(ids))
    for r in await conn.execute(query):
        states[r.centre_id].tally = Tally(r.placed_from_waiting, r.restored)
    query = sa.select(t.advice).where(t.advice.c.centre_id.in_(ids))
    for r in await conn.execute(query):
        states[r.centre_id].advice[r.outage_id] = AdviceRec(
            r.advice_id, codec.parse_ts(r.time), r.basis, r.waiting, _extra_of(r.extra))


class CalendarQueries:
    """Read-only: what the status API and page show of the living calendar."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def centres(self) -> dict[str, dict[str, Any]]:
        """centre id -> {waiting, placed_from_waiting, restored, advice: [latest per
        outage, newest first]}; centres with none of these are absent."""
        async with self.engine.connect() as conn:
            counts = (await conn.execute(sa.select(t.calendar))).all()
            advice = (await conn.execute(sa.select(t.advice))).all()
        found: dict[str, dict[str, Any]] = {}
        for r in counts:
            found[r.centre_id] = {"waiting": r.waiting,
                                  "placed_from_waiting": r.placed_from_waiting,
                                  "restored": r.restored, "advice": []}
        for r in sorted(advice, key=lambda a: a.time, reverse=True):
            entry = found.setdefault(r.centre_id, {"waiting": 0, "placed_from_waiting": 0,
                                                   "restored": 0, "advice": []})
            entry["advice"].append({"outage_id": r.outage_id, "advice_id": r.advice_id,
                                    "time": r.time, "waiting": r.waiting,
                                    "extra": json.loads(r.extra)})
        return found

    async def centre(self, centre_id: str) -> dict[str, Any]:
        """One centre's entry of `centres()`, zeros when nothing was ever displaced."""
        return (await self.centres()).get(centre_id, {
            "waiting": 0, "placed_from_waiting": 0, "restored": 0, "advice": []})
