"""Writes examples/morocco-suspension.jsonl: a multi-day suspension (seeded, reproducible).

Two consular centres in Morocco (Rabat and Casablanca, Africa/Casablanca), open Monday to
Friday 08:00-15:30 in half-hour slots from 1 Dec 2025 to 9 Jan 2026 (what the booking
system has published: about five weeks ahead). The visa system is suspended for every
service from Tuesday 2 to Friday 5 December, announced on Monday 1 December at 10:00; the
suspended days are ~90 % booked, and so are the weeks after, so most of the displaced
cannot be moved within the horizon and wait. Operations then publish the places the
capacity advice asks for (tests/integration/test_morocco_scenario.py plays both steps).

    python examples/generate_morocco.py > examples/morocco-suspension.jsonl
"""

import datetime as dt
import json
import random
import sys
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Africa/Casablanca")
CENTRES = [
    ("us-rabat", "U.S. Embassy Rabat", "Rabat", "Km 5.7, Avenue Mohamed VI, Souissi, Rabat"),
    ("us-casablanca", "U.S. Consulate General Casablanca", "Casablanca",
     "8 Boulevard Moulay Youssef, Casablanca"),
]
CAPACITY = {"nonimmigrant": 5, "immigrant": 1}  # places per half-hour slot
FIRST = ["Youssef", "Fatima", "Mohamed", "Khadija", "Omar", "Salma", "Hamza", "Imane",
         "Mehdi", "Zineb", "Anas", "Meryem", "Ayoub", "Hajar", "Karim", "Nadia"]
LAST = ["El Amrani", "Bennani", "Alaoui", "Tazi", "Berrada", "Chraibi", "El Idrissi",
        "Benjelloun", "Lahlou", "Fassi", "Ouazzani", "Sqalli"]
ANNOUNCED = dt.datetime(2025, 12, 1, 10, 0, tzinfo=TZ)
SUSPENDED = (dt.datetime(2025, 12, 2, 0, 0, tzinfo=TZ), dt.datetime(2025, 12, 6, 0, 0, tzinfo=TZ))
SOURCE = "booking-system/us-ma"


def event(kind: str, eid: str, subject: str, time: dt.datetime, data: dict[str, Any],
          source: str) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": source, "type": kind,
                       "time": time.isoformat(), "subject": subject, "data": data},
                      ensure_ascii=False)


def open_days() -> list[dt.date]:
    day, days = dt.date(2025, 12, 1), []
    while day <= dt.date(2026, 1, 9):
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def slot_times(day: dt.date) -> list[dt.datetime]:
    first = dt.datetime.combine(day, dt.time(8, 0), TZ)
    return [first + dt.timedelta(minutes=30 * i) for i in range(16)]


def booked_share(day: dt.date) -> float:
    """~90 % booked through the suspension and the four weeks after it, less later on."""
    return 0.9 if day <= dt.date(2026, 1, 2) else 0.75


def main(seed: int = 2) -> None:
    rng = random.Random(seed)
    out: list[str] = []
    opened = dt.datetime(2025, 10, 1, 9, 0, tzinfo=TZ)
    n = 0
    for centre_id, name, city, address in CENTRES:
        out.append(event("visa.centre.registered.v1", f"{centre_id}-registered", centre_id,
                         opened, {"centre_id": centre_id, "name": name, "city": city,
                                  "country": "MA", "timezone": "Africa/Casablanca",
                                  "address": address, "languages": ["ar", "fr", "en"]}, SOURCE))
        for service, cap in CAPACITY.items():
            slots = [{"start": t.isoformat(), "duration_min": 30, "capacity": cap}
                     for day in open_days() for t in slot_times(day)]
            out.append(event("visa.slots.published.v1", f"{centre_id}-{service}-slots",
                             centre_id, opened, {"centre_id": centre_id, "service": service,
                                                 "slots": slots}, SOURCE))
        for day in open_days():
            for t in slot_times(day):
                for service, cap in CAPACITY.items():
                    taken = sum(rng.random() < booked_share(day) for _ in range(cap))
                    family_left, family = 0, None
                    for _ in range(taken):
                        n += 1
                        if family_left == 0 and taken >= 2 and rng.random() < 0.1:
                            family_left, family = rng.randint(2, min(3, taken)), f"fam-{n}"
                        out.append(booking(rng, centre_id, service, t, n,
                                           family if family_left else None))
                        family_left = max(0, family_left - 1)
    out.append(event("visa.outage.declared.v1", "us-ma-suspension-2025-12", "", ANNOUNCED,
                     {"outage_id": "us-ma-suspension-2025-12",
                      "centre_ids": [c[0] for c in CENTRES],
                      "start": SUSPENDED[0].isoformat(), "end": SUSPENDED[1].isoformat(),
                      "reason": "Visa system suspended", "notice_min": 1440}, "ops-console"))
    sys.stdout.write("\n".join(out) + "\n")


def booking(rng: random.Random, centre_id: str, service: str, t: dt.datetime, n: int,
            group_id: str | None) -> str:
    language = rng.choices(["ar", "fr", "en"], weights=[50, 35, 15])[0]
    applicant: dict[str, str] = {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                 "language": language, "email": f"applicant{n}@example.ma"}
    if rng.random() < 0.8:
        applicant["phone"] = f"+2126{rng.randint(10_000_000, 99_999_999)}"
    data: dict[str, object] = {
        "booking_id": f"{centre_id}-b{n:05d}", "centre_id": centre_id, "service": service,
        "slot_start": t.isoformat(), "applicant": applicant,
        "category": rng.choices(["standard", "official", "medical"], weights=[90, 6, 4])[0],
    }
    if group_id:
        data["group_id"] = group_id
    if rng.random() < 0.25:
        data["travel_date"] = (t.date() + dt.timedelta(days=rng.randint(20, 45))).isoformat()
    created = min(t - dt.timedelta(days=rng.randint(10, 60)), ANNOUNCED - dt.timedelta(hours=2))
    return event("visa.booking.created.v1", f"{centre_id}-b{n:05d}-created", centre_id, created,
                 data, SOURCE)


if __name__ == "__main__":
    main()
