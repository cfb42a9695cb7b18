"""A seeded scenario: centres, calendars, bookings (with moves and cancellations) and
waves of outages whose centres are disjoint within a wave."""

import datetime as dt
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka.partitioner import murmur2

from services.common.kafka import Outgoing
from services.common.publish import validate_lines

TZ = ZoneInfo("Africa/Algiers")
ANNOUNCED = dt.datetime(2025, 11, 25, 10, 0, tzinfo=TZ)
FIRST = ["Zoubida", "Abdelghani", "Chahinez", "Noureddine", "Ouardia", "Lyes", "Souhila",
         "Tarek", "Hayet", "Mourad", "Djamila", "Rachid", "Fadila", "Samir"]
LAST = ["Khelladi", "Benmerabet", "Ouchene", "Ait-Hamou", "Belhadj", "Zeghdoud",
        "Haddadj", "Medjdoub", "Larbaoui", "Sellami", "Bensaada", "Kherbouche"]


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None
    phone: str | None


@dataclass
class Scenario:
    centres: list[str]
    calendars: list[str]  # registrations, slots, bookings and their moves and cancellations
    waves: list[list[str]]  # outage events; a wave's events name disjoint centre sets
    people: list[Person] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.calendars + [line for wave in self.waves for line in wave]

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path

    def personal_data(self) -> set[str]:
        """Every name, e-mail address and phone number (also without its '+') in the input."""
        found: set[str] = set()
        for p in self.people:
            found.add(p.name)
            if p.email:
                found.add(p.email)
            if p.phone:
                found |= {p.phone, p.phone.lstrip("+")}
        return found


def _event(kind: str, eid: str, subject: str, time: dt.datetime, data: dict[str, Any]) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "booking-system/chaos",
                       "type": kind, "time": time.isoformat(), "subject": subject,
                       "data": data}, ensure_ascii=False)


def centres_on_partitions(partitions: int, per_partition: int, prefix: str = "vc") -> list[str]:
    """Centre ids that the default (murmur2) partitioner spreads `per_partition` on each."""
    chosen: dict[int, list[str]] = defaultdict(list)
    n = 0
    while any(len(chosen[p]) < per_partition for p in range(partitions)):
        name = f"{prefix}-{n:03d}"
        p = (murmur2(name.encode()) & 0x7FFFFFFF) % partitions
        if len(chosen[p]) < per_partition:
            chosen[p].append(name)
        n += 1
    return sorted(c for names in chosen.values() for c in names)


def partition_of(centre: str, partitions: int) -> int:
    return int(murmur2(centre.encode()) & 0x7FFFFFFF) % partitions


def _working_days(first: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    d = first
    while len(days) < count:
        if d.weekday() not in (4, 5):  # Friday and Saturday: the weekend in Algeria
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def make_scenario(seed: int, centres: Sequence[str], *, days: int = 8, booked_days: int = 4,
                  waves: int = 3) -> Scenario:
    """Calendars of `days` working days from Mon 1 Dec 2025, the first `booked_days` mostly
    booked; then `waves` of outages on distinct booked days (the last wave also revises an
    outage of the first)."""
    rng = random.Random(seed)
    scenario = Scenario(list(centres), [], [])
    opened = dt.datetime(2025, 11, 1, 9, 0, tzinfo=TZ)
    calendar_days = _working_days(dt.date(2025, 12, 1), days)
    n = 0
    for centre in centres:
        scenario.calendars.append(_event(
            "visa.centre.registered.v1", f"{centre}-registered", centre, opened,
            {"centre_id": centre, "name": f"Centre {centre}", "city": "Alger", "country": "DZ",
             "timezone": "Africa/Algiers", "address": "Rue Didouche Mourad, Alger",
             "languages": ["fr", "ar"]}))
        capacity = {"short_stay": rng.choice([2, 3]), "long_stay": 1}
        for service, cap in capacity.items():
            slots = [{"start": s.isoformat(), "duration_min": 30, "capacity": cap}
                     for day in calendar_days for s in _slot_times(day)]
            scenario.calendars.append(_event(
                "visa.slots.published.v1", f"{centre}-{service}-slots", centre, opened,
                {"centre_id": centre, "service": service, "slots": slots}))
        later: list[str] = []
        for day in calendar_days[:booked_days]:
            for start in _slot_times(day):
                for service, cap in capacity.items():
                    taken = cap if start.hour >= 14 else rng.randint(cap // 2, cap)
                    family = f"fam-{centre}-{n}" if taken >= 2 and rng.random() < 0.15 else None
                    for _ in range(taken):
                        n += 1
                        booking_id = f"{centre}-b{n:05d}"
                        person = _person(rng, n)
                        scenario.people.append(person)
                        scenario.calendars.append(_booking(rng, centre, service, start,
                                                           booking_id, person, family))
                        later += _afterwards(rng, centre, booking_id, start, calendar_days,
                                             family)
        scenario.calendars += later
    scenario.waves = _outage_waves(rng, list(centres), calendar_days[:booked_days], waves)
    return scenario


def _slot_times(day: dt.date) -> list[dt.datetime]:
    first = dt.datetime.combine(day, dt.time(8, 0), TZ)
    return [first + dt.timedelta(minutes=30 * i) for i in range(18)]  # 08:00-16:30


def _person(rng: random.Random, n: int) -> Person:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"{name.split()[0].lower()}.{n}@courriel-prive.dz" if rng.random() < 0.85 else None
    phone = f"+2136{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.7 else None
    return Person(name, email, phone)


def _booking(rng: random.Random, centre: str, service: str, start: dt.datetime,
             booking_id: str, person: Person, family: str | None) -> str:
    applicant: dict[str, str] = {"name": person.name,
                                 "language": rng.choices(["fr", "ar", "en"], [5, 4, 1])[0]}
    if person.email:
        applicant["email"] = person.email
    if person.phone:
        applicant["phone"] = person.phone
    data: dict[str, Any] = {
        "booking_id": booking_id, "centre_id": centre, "service": service,
        "slot_start": start.isoformat(), "applicant": applicant,
        "category": rng.choices(["standard", "official", "medical"], [90, 6, 4])[0],
    }
    if family:
        data["group_id"] = family
    if rng.random() < 0.3:
        data["travel_date"] = (start.date() + dt.timedelta(days=rng.randint(16, 30))).isoformat()
    created = ANNOUNCED - dt.timedelta(days=rng.randint(2, 20))
    return _event("visa.booking.created.v1", f"{booking_id}-created", centre, created, data)


def _afterwards(rng: random.Random, centre: str, booking_id: str, start: dt.datetime,
                days: list[dt.date], family: str | None) -> list[str]:
    """Some single bookings are moved by the booking system, then some of those cancelled."""
    if family or rng.random() > 0.06:
        return []
    when = ANNOUNCED - dt.timedelta(hours=2)
    target = rng.choice(_slot_times(rng.choice(days[len(days) // 2:])))
    out = [_event("visa.booking.moved.v1", f"{booking_id}-moved", centre, when,
                  {"booking_id": booking_id, "centre_id": centre,
                   "slot_start": target.isoformat()})]
    if rng.random() < 0.4:
        out.append(_event("visa.booking.cancelled.v1", f"{booking_id}-cancelled", centre,
                          when + dt.timedelta(minutes=5),
                          {"booking_id": booking_id, "centre_id": centre}))
    return out


def _outage_waves(rng: random.Random, centres: list[str], days: list[dt.date],
                  waves: int) -> list[list[str]]:
    out: list[list[str]] = []
    first_outage: tuple[str, list[str], dt.datetime, dt.datetime] | None = None
    for w in range(waves):
        day = days[w % len(days)]
        pool = centres[:]
        rng.shuffle(pool)
        wave: list[str] = []
        if w == waves - 1 and first_outage is not None and w > 0:
            outage_id, named, start, end = first_outage
            wave.append(_event("visa.outage.revised.v1", f"{outage_id}-revised", "",
                               ANNOUNCED + dt.timedelta(hours=20),
                               {"outage_id": outage_id, "start": start.isoformat(),
                                "end": (end + dt.timedelta(hours=1)).isoformat()}))
            pool = [c for c in pool if c not in named]
        while pool:
            size = min(len(pool), rng.randint(1, 3))
            named, pool = pool[:size], pool[size:]
            start = dt.datetime.combine(day, dt.time(rng.randint(8, 12), 0), TZ)
            end = start + dt.timedelta(hours=rng.randint(2, 4))
            outage_id = f"outage-w{w}-{named[0]}"
            data: dict[str, Any] = {"outage_id": outage_id, "centre_ids": sorted(named),
                                    "start": start.isoformat(), "end": end.isoformat(),
                                    "reason": "Panne du portail France-Visas",
                                    "notice_min": 1440}
            if rng.random() < 0.3:
                data["services"] = ["short_stay"]
            subject = named[0] if size == 1 else ""  # one centre: keyed by it
            wave.append(_event("visa.outage.declared.v1", outage_id, subject, ANNOUNCED, data))
            if first_outage is None:
                first_outage = (outage_id, named, start, end)
        out.append(wave)
    return out


def messages_of(lines: Iterable[str]) -> list[Outgoing]:
    messages, errors = validate_lines(lines)
    assert not errors, errors[:3]
    return messages
