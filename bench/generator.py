"""Seeded, realistic centre instances for tests and the bench (not production code).

A centre in Algiers (Sunday-Thursday, 08:00-16:00 local, a slot every 15 minutes) with
three services, an outage of two and a half working days, and the following month already
partly booked. Capacity scales with the requested size so that about `n_displaced`
bookings fall in the outage; tight seeds leave some applicants without a slot.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.solver.model import Displaced, Instance, Policy, Slot

CENTRE_TZ = ZoneInfo("Africa/Algiers")
UTC = ZoneInfo("UTC")
SERVICES = (("short_stay", 0.70), ("long_stay", 0.20), ("premium", 0.10))
SLOT_TIMES = tuple(time(8 + q // 4, 15 * (q % 4)) for q in range(32))  # 08:00 .. 15:45
WEEKEND = (4, 5)  # Friday, Saturday
OUTAGE_FULL_DAYS = 2
OUTAGE_LAST_DAY_END = time(12, 0)
FIRST_DAY = date(2025, 3, 2)  # a Sunday
NOTICE = timedelta(days=1)
FAMILY_SIZES = (2, 3, 4, 5)


@dataclass(frozen=True)
class _Place:
    service: str
    start: datetime
    day: date


def _utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=CENTRE_TZ).astimezone(UTC)


def _working_days(first: date, count: int) -> list[date]:
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() not in WEEKEND:
            days.append(day)
        day += timedelta(days=1)
    return days


def _in_outage(day: date, at: time, outage_days: list[date]) -> bool:
    # Two full working days, then the morning of the third.
    if day in outage_days[:OUTAGE_FULL_DAYS]:
        return True
    return day == outage_days[OUTAGE_FULL_DAYS] and at < OUTAGE_LAST_DAY_END


def generate(n_displaced: int, seed: int, groups_share: float = 0.1) -> Instance:
    """About n_displaced displaced bookings in one centre, reproducible from the seed."""
    rng = random.Random(seed)
    days = _working_days(FIRST_DAY + timedelta(days=1), 40)
    outage_days = days[1 : 2 + OUTAGE_FULL_DAYS]
    outage_starts = sum(1 for d in days for t in SLOT_TIMES if _in_outage(d, t, outage_days))
    slots: list[Slot] = []
    places: list[_Place] = []
    for service, share in SERVICES:
        wanted = round(n_displaced * share)
        scale = max(1, round(wanted / (outage_starts * 7 * 0.9)))
        service_slots, service_places = _service(rng, service, scale, days, outage_days)
        slots += service_slots
        places += sorted(rng.sample(service_places, min(wanted, len(service_places))),
                         key=lambda p: (p.start, p.service))
    places.sort(key=lambda p: (p.start, p.service))
    bookings, anchors = _bookings(rng, places, groups_share, outage_days)
    return Instance(
        centre_id="dz-alg-01",
        earliest=_utc(FIRST_DAY, time(6, 0)) + NOTICE,
        bookings=tuple(bookings),
        slots=tuple(slots),
        anchors=anchors,
        policy=Policy(),
    )


def _service(
    rng: random.Random, service: str, scale: int, days: list[date], outage_days: list[date]
) -> tuple[list[Slot], list[_Place]]:
    # Near days are almost full, later ones less so; a tight seed keeps them all busy.
    tight = rng.random() < 0.3
    base = rng.uniform(0.9, 0.99) if tight else rng.uniform(0.8, 0.95)
    decay = rng.uniform(0.002, 0.008) if tight else rng.uniform(0.01, 0.03)
    slots: list[Slot] = []
    places: list[_Place] = []
    for index, day in enumerate(days):
        for at in SLOT_TIMES:
            capacity = rng.randint(2, 12) * scale
            start = _utc(day, at)
            if _in_outage(day, at, outage_days):
                places += [_Place(service, start, day)] * capacity
                continue
            busy = min(1.0, max(0.0, base - decay * index + rng.uniform(-0.1, 0.1)))
            free = capacity - round(busy * capacity)
            if free > 0:
                slots.append(Slot(service=service, start=start, day=day, free=free))
    return slots, places


def _bookings(
    rng: random.Random, places: list[_Place], groups_share: float, outage_days: list[date]
) -> tuple[list[Displaced], dict[str, tuple[tuple[datetime, date], ...]]]:
    # Families sit in neighbouring places of one service, share a category and a trip.
    start_family = groups_share / (3.5 - 2.5 * groups_share) if groups_share < 1 else 1.0
    bookings: list[Displaced] = []
    anchors: dict[str, tuple[tuple[datetime, date], ...]] = {}
    index = 0
    while index < len(places):
        size = 1
        group_id = None
        if rng.random() < start_family:
            size = rng.choice(FAMILY_SIZES)
            group_id = f"G{index:06d}"
        members = [p for p in places[index : index + size] if p.service == places[index].service]
        category = _category(rng)
        travel = _travel_date(rng, members[0].day)
        for offset, place in enumerate(members):
            bookings.append(
                Displaced(
                    booking_id=f"B{index + offset:06d}",
                    service=place.service,
                    from_start=place.start,
                    from_day=place.day,
                    category=_category(rng) if rng.random() < 0.1 else category,
                    outage_day=outage_days[0],
                    travel_date=travel,
                    group_id=group_id if len(members) > 1 else None,
                )
            )
        if group_id is not None and len(members) > 1:
            staying = _anchors(rng, members[-1], outage_days)
            if staying:
                anchors[group_id] = staying
        index += len(members)
    return bookings, anchors


def _category(rng: random.Random) -> str:
    draw = rng.random()
    return "standard" if draw < 0.85 else "official" if draw < 0.95 else "medical"


def _travel_date(rng: random.Random, from_day: date) -> date | None:
    # 30% declared a travel date, 7 to 90 days after their original appointment.
    if rng.random() >= 0.3:
        return None
    return from_day + timedelta(days=rng.randint(7, 90))


def _anchors(
    rng: random.Random, last: _Place, outage_days: list[date]
) -> tuple[tuple[datetime, date], ...]:
    # A family booked across the end of the outage: the members after it stay put.
    end = _utc(outage_days[OUTAGE_FULL_DAYS], OUTAGE_LAST_DAY_END)
    if last.day != outage_days[OUTAGE_FULL_DAYS] or end - last.start > timedelta(minutes=15):
        return ()
    if rng.random() < 0.5:
        return ()
    return tuple((end + timedelta(minutes=15 * k), last.day) for k in range(rng.randint(1, 2)))
