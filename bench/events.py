"""Contract events for the bench, as CloudEvent JSON (the shape of tests/builders.py)."""

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bench.generator import generate
from schemas.topics import Topic
from services.common.kafka import Outgoing
from services.scheduler.solver.model import Displaced

TZ_NAME = "Africa/Algiers"
TZ = ZoneInfo(TZ_NAME)
SOURCE = "booking-system/bench"
LANGUAGES = ("fr", "ar", "en")
SLOT_MIN = 15


def event(kind: str, eid: str, subject: str, time: dt.datetime, data: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": eid, "source": SOURCE, "type": kind,
                       "time": time.isoformat(), "subject": subject, "data": data}).encode()


def applicant(n: int) -> dict[str, str]:
    """Both an e-mail address and a phone: every notification goes out on two channels."""
    return {"name": f"Applicant {n}", "language": LANGUAGES[n % 3],
            "email": f"applicant{n}@example.dz", "phone": f"+2135{10_000_000 + n:08d}"}


def centre(centre_id: str, time: dt.datetime) -> Outgoing:
    data = {"centre_id": centre_id, "name": f"Centre {centre_id}", "city": "Alger",
            "country": "DZ", "timezone": TZ_NAME, "address": "Bab Ezzouar, Alger",
            "languages": ["fr", "ar"]}
    return Outgoing(Topic.CENTRES, centre_id,
                    event("visa.centre.registered.v1", f"{centre_id}-registered", centre_id,
                          time, data))


# -- part (b): many small booking events over many centres ---------------------------------

def booking_stream(count: int, centres: int, announced: dt.datetime) -> Iterator[Outgoing]:
    """`count` visa.booking.created.v1 events spread round-robin over `centres` centres."""
    first = dt.datetime(2025, 12, 1, 8, 0, tzinfo=TZ)
    for n in range(count):
        centre_id = f"bench-c{n % centres:02d}"
        start = first + dt.timedelta(days=(n // 640) % 30, minutes=SLOT_MIN * ((n // 20) % 32))
        booking_id = f"{centre_id}-b{n:07d}"
        data = {"booking_id": booking_id, "centre_id": centre_id, "service": "short_stay",
                "slot_start": start.isoformat(), "applicant": applicant(n)}
        yield Outgoing(Topic.BOOKINGS, centre_id,
                       event("visa.booking.created.v1", f"{booking_id}-created", centre_id,
                             announced, data))


# -- part (c): one centre, a generated calendar, one outage ---------------------------------

@dataclass(frozen=True)
class OutageScenario:
    centre_id: str
    calendar: list[Outgoing]  # centre, slots, bookings
    outage: Outgoing
    displaced: int


def outage_scenario(n_displaced: int, seed: int) -> OutageScenario:
    """The solver's seeded instance as events: free slots, the bookings an outage will hit."""
    instance = generate(n_displaced, seed)
    c = instance.centre_id
    announced = instance.earliest - dt.timedelta(days=1)  # now + notice (1440 min) = earliest
    before = announced - dt.timedelta(days=1)
    calendar = [centre(c, before)]
    capacity: dict[tuple[str, dt.datetime], int] = {}
    for s in instance.slots:
        capacity[(s.service, s.start)] = s.free
    for b in instance.bookings:
        key = (b.service, b.from_start)
        capacity[key] = capacity.get(key, 0) + 1
    for service in sorted({k[0] for k in capacity}):
        slots = [{"start": start.isoformat(), "duration_min": SLOT_MIN, "capacity": cap}
                 for (svc, start), cap in sorted(capacity.items()) if svc == service]
        calendar.append(Outgoing(Topic.CAPACITY, c, event(
            "visa.slots.published.v1", f"{c}-{service}-slots", c, before,
            {"centre_id": c, "service": service, "slots": slots})))
    calendar += [_displaced_booking(c, n, b, before) for n, b in enumerate(instance.bookings)]
    start = min(b.from_start for b in instance.bookings)
    end = max(b.from_start for b in instance.bookings) + dt.timedelta(minutes=SLOT_MIN)
    outage_id = f"bench-outage-{n_displaced}-{seed}"
    outage = Outgoing(Topic.OUTAGES, outage_id, event(
        "visa.outage.declared.v1", outage_id, "", announced,
        {"outage_id": outage_id, "centre_ids": [c], "start": start.isoformat(),
         "end": end.isoformat(), "reason": "France-Visas portal maintenance",
         "notice_min": 1440}))
    return OutageScenario(c, calendar, outage, len(instance.bookings))


def _displaced_booking(centre_id: str, n: int, b: Displaced, time: dt.datetime) -> Outgoing:
    data: dict[str, Any] = {"booking_id": b.booking_id, "centre_id": centre_id,
                            "service": b.service, "slot_start": b.from_start.isoformat(),
                            "category": b.category, "applicant": applicant(n)}
    if b.group_id is not None:
        data["group_id"] = b.group_id
    if b.travel_date is not None:
        data["travel_date"] = b.travel_date.isoformat()
    return Outgoing(Topic.BOOKINGS, centre_id, event(
        "visa.booking.created.v1", f"{b.booking_id}-created", centre_id, time, data))
