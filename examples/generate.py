"""Writes examples/capago-dz.jsonl: the seed scenario of `make run` (seeded, reproducible).

Four Capago centres in Algeria, their calendars from 30 Nov to 31 Dec 2025 (Sunday to
Thursday, 08:00-17:00), bookings filling most of the first three weeks, and the France-Visas
portal stopped on Wed 3 Dec 2025 15:30-19:30 and Tue 9 Dec 2025 06:00-09:00, both
announced on 25 Nov 2025 as portal-wide outages naming every centre.

    python examples/generate.py > examples/capago-dz.jsonl
"""

import datetime as dt
import json
import random
import sys
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Africa/Algiers")
CENTRES = [
    ("capago-alger", "Capago Alger", "Alger", "Centre commercial Bab Ezzouar, Tour 2, Alger"),
    ("capago-oran", "Capago Oran", "Oran", "Boulevard de l'ALN, Front de mer, Oran"),
    ("capago-annaba", "Capago Annaba", "Annaba", "Cours de la Révolution, Annaba"),
    ("capago-constantine", "Capago Constantine", "Constantine",
     "Rue Abane Ramdane, Constantine"),
]
FIRST = ["Amine", "Yasmine", "Karim", "Nour", "Sofiane", "Lina", "Walid", "Meriem", "Riad",
         "Imane", "Mehdi", "Sarah", "Nassim", "Amel", "Yacine", "Feriel", "Hocine", "Rania"]
LAST = ["Benali", "Haddad", "Mansouri", "Belkacem", "Bouzid", "Cherif", "Khelifi", "Saadi",
        "Boudiaf", "Zerrouki", "Amrani", "Mebarki", "Touati", "Hamidi", "Brahimi"]
ANNOUNCED = dt.datetime(2025, 11, 25, 10, 0, tzinfo=TZ)


def event(kind: str, eid: str, subject: str, time: dt.datetime, data: dict[str, Any],
          source: str) -> str:
    return json.dumps({
        "specversion": "1.0", "id": eid, "source": source, "type": kind,
        "time": time.isoformat(), "subject": subject, "data": data,
    }, ensure_ascii=False)


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    days, d = [], start
    while d <= end:
        if d.weekday() not in (4, 5):  # Friday and Saturday are the weekend in Algeria
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def slot_times(day: dt.date) -> list[dt.datetime]:
    first = dt.datetime.combine(day, dt.time(8, 0), TZ)
    return [first + dt.timedelta(minutes=30 * i) for i in range(18)]  # 08:00-16:30


def main(seed: int = 2025) -> None:
    rng = random.Random(seed)
    out: list[str] = []
    source = "booking-system/capago-dz"
    days = working_days(dt.date(2025, 11, 30), dt.date(2025, 12, 31))
    n = 0
    for centre_id, name, city, address in CENTRES:
        opened = dt.datetime(2025, 11, 1, 9, 0, tzinfo=TZ)
        out.append(event("visa.centre.registered.v1", f"{centre_id}-registered", centre_id,
                         opened, {"centre_id": centre_id, "name": name, "city": city,
                                  "country": "DZ", "timezone": "Africa/Algiers",
                                  "address": address, "languages": ["fr", "ar"]}, source))
        capacity = {"short_stay": rng.choice([4, 5, 6]), "long_stay": 2}
        for service, cap in capacity.items():
            slots = [{"start": t.isoformat(), "duration_min": 30, "capacity": cap}
                     for day in days for t in slot_times(day)]
            out.append(event("visa.slots.published.v1", f"{centre_id}-{service}-slots",
                             centre_id, opened, {"centre_id": centre_id, "service": service,
                                                 "slots": slots}, source))
        for day in days[:15]:
            for t in slot_times(day):
                for service, cap in capacity.items():
                    full = t.hour >= 15 or t.hour < 9  # afternoons and early slots sell out
                    taken = cap if full else rng.randint(cap // 2, cap)
                    group_left = 0
                    group_id = None
                    for _ in range(taken):
                        n += 1
                        if group_left == 0 and rng.random() < 0.12 and taken >= 2:
                            group_left = rng.randint(2, min(4, taken))
                            group_id = f"fam-{centre_id}-{n}"
                        out.append(booking(rng, centre_id, service, t, n,
                                           group_id if group_left else None))
                        group_left = max(0, group_left - 1)
    outages = [
        ("france-visas-2025-12-03", dt.datetime(2025, 12, 3, 15, 30, tzinfo=TZ),
         dt.datetime(2025, 12, 3, 19, 30, tzinfo=TZ)),
        ("france-visas-2025-12-09", dt.datetime(2025, 12, 9, 6, 0, tzinfo=TZ),
         dt.datetime(2025, 12, 9, 9, 0, tzinfo=TZ)),
    ]
    for outage_id, start, end in outages:
        out.append(event("visa.outage.declared.v1", outage_id, "", ANNOUNCED,
                         {"outage_id": outage_id, "centre_ids": [c[0] for c in CENTRES],
                          "start": start.isoformat(), "end": end.isoformat(),
                          "reason": "France-Visas portal maintenance", "notice_min": 1440},
                         "ops-console"))
    sys.stdout.write("\n".join(out) + "\n")


def booking(rng: random.Random, centre_id: str, service: str, t: dt.datetime, n: int,
            group_id: str | None) -> str:
    language = rng.choices(["fr", "ar", "en"], weights=[55, 35, 10])[0]
    category = rng.choices(["standard", "official", "medical"], weights=[88, 8, 4])[0]
    applicant: dict[str, str] = {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                 "language": language}
    if rng.random() < 0.9:
        applicant["email"] = f"applicant{n}@example.dz"
    if rng.random() < 0.7:
        applicant["phone"] = f"+2135{rng.randint(10_000_000, 99_999_999)}"
    data: dict[str, object] = {
        "booking_id": f"{centre_id}-b{n:05d}", "centre_id": centre_id, "service": service,
        "slot_start": t.isoformat(), "category": category, "applicant": applicant,
    }
    if group_id:
        data["group_id"] = group_id
    if rng.random() < 0.3:
        data["travel_date"] = (t.date() + dt.timedelta(days=rng.randint(16, 40))).isoformat()
    created = t - dt.timedelta(days=rng.randint(10, 40))
    created = min(created, ANNOUNCED - dt.timedelta(hours=1))
    return event("visa.booking.created.v1", f"{centre_id}-b{n:05d}-created", centre_id,
                 created, data, "booking-system/capago-dz")


if __name__ == "__main__":
    main()
