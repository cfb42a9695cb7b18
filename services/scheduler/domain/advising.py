"""Capacity advice from a centre's state: emitted again whenever its waiting list changes.

One advice per centre and outage, covering exactly the bookings that outage left waiting
(solver/advice.py spreads them over dates). A new advice (new `advice_id`) is emitted
only when the set of waiting bookings changed since the last one; when nobody waits any
more, an advice with no extra places says so (the latest stands, CONTRACT v1.1).
"""

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from schemas import data as d
from schemas.envelope import CloudEvent
from services.common.ids import derived_id
from services.scheduler.domain import outputs
from services.scheduler.domain.state import AdviceRec, CentreState
from services.scheduler.solver.advice import AdviceCalendar, spread_advice, usual_daily_capacity

MINUTE = dt.timedelta(minutes=1)


def advice_events(state: CentreState, cause: tuple[str, dt.datetime],
                  share: float) -> list[CloudEvent[Any]]:
    """A new advice for every outage whose waiting bookings changed since its last one."""
    if state.info is None or not (state.waiting or state.advice):
        return []
    by_outage: dict[str, list[str]] = defaultdict(list)
    for booking_id in sorted(state.waiting):
        by_outage[state.decisions[booking_id].outage_id].append(booking_id)
    out = []
    for outage_id in sorted(by_outage.keys() | state.advice.keys()):
        waiting = by_outage.get(outage_id, [])
        basis = hashlib.sha256("\n".join(waiting).encode()).hexdigest()[:32]
        known = state.advice.get(outage_id)
        if (known.basis if known is not None else _NOBODY) == basis:
            continue
        out.append(_advice(state, outage_id, waiting, basis, cause, share))
    return out


_NOBODY = hashlib.sha256(b"").hexdigest()[:32]


def _advice(state: CentreState, outage_id: str, waiting: list[str], basis: str,
            cause: tuple[str, dt.datetime], share: float) -> CloudEvent[Any]:
    cause_id, time = cause
    outage = state.outages[outage_id]
    earliest = outage.clock(time) + dt.timedelta(minutes=outage.notice_min)
    extra = tuple(d.ExtraPlaces(date=day, service=service, places=places) for day, service, places
                  in spread_advice(_units(state, waiting), _calendar(state, earliest, share)))
    advice_id = derived_id("advice", cause_id, state.centre_id, outage_id)
    state.advice[outage_id] = AdviceRec(advice_id, time, basis, len(waiting), extra)
    state.dirty_advice.add(outage_id)
    return outputs.capacity_advice(d.CapacityAdvice(
        centre_id=state.centre_id, outage_id=outage_id, extra=extra, advice_id=advice_id), time)


def _units(state: CentreState, waiting: list[str]) -> list[Counter[str]]:
    """Families (places per service, one date) and single bookings, earliest original
    slot first."""
    units: dict[str, tuple[dt.datetime, str, Counter[str]]] = {}
    for booking_id in waiting:
        booking = state.bookings[booking_id]
        key = f"g:{booking.group_id}" if booking.group_id is not None else f"b:{booking_id}"
        first = state.decisions[booking_id].original
        known = units.get(key)
        if known is None:
            known = units[key] = (first, booking_id, Counter())
        elif first < known[0]:
            known = units[key] = (first, known[1], known[2])
        known[2][booking.service] += 1
    return [places for _, _, places in sorted(units.values(), key=lambda u: (u[0], u[1]))]


def _calendar(state: CentreState, earliest: dt.datetime, share: float) -> AdviceCalendar:
    """The centre's usual daily capacity and opening weekdays per service, from its
    published slots, and the dates its active outages stop each service."""
    assert state.info is not None
    tz = ZoneInfo(state.info.timezone)
    per_day: dict[str, Counter[dt.date]] = defaultdict(Counter)
    for (service, start), slot in state.slots.items():
        per_day[service][start.astimezone(tz).date()] += slot.capacity
    usual = {s: usual_daily_capacity(days) for s, days in per_day.items()}
    weekdays = {s: frozenset(day.weekday() for day, c in days.items() if c > 0)
                for s, days in per_day.items()}
    services = per_day.keys() | {state.bookings[b].service for b in state.waiting}
    closed: dict[str, frozenset[dt.date]] = {}
    for service in services:
        closed[service] = frozenset(
            day for o in state.outages.values()
            if o.active and (o.services is None or service in o.services)
            for day in _local_dates(o.start, o.end, tz))
    return AdviceCalendar(
        first_day=(earliest.astimezone(tz) - MINUTE).date() + dt.timedelta(days=1),
        usual=usual, weekdays={s: w for s, w in weekdays.items() if w}, closed=closed,
        share=share)


def _local_dates(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[dt.date]:
    """The local dates a half-open window touches (a partly stopped day counts: advice
    asks for places where nothing stops them)."""
    first, last = start.astimezone(tz).date(), (end.astimezone(tz) - MINUTE).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
