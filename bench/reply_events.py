"""The events of bench (g), bench/replies.py: big centres whose outages displace 20,000
bookings each, on one partition, and small centres on the others, whose outages made offers
that the replies confirm."""

import datetime as dt
from collections.abc import Iterator

from bench.events import TZ, applicant, centre, event, outage_scenario
from schemas.topics import Topic
from services.common.ids import derived_id
from services.common.kafka import Outgoing
from services.scheduler.ownership import Ownership

PARTITIONS = 6
BIG = "dz-alg-01"  # the generated instance's centre id, renamed per big centre
DAY = dt.datetime.now(TZ).replace(hour=9, minute=0, second=0, microsecond=0) \
    + dt.timedelta(days=10)


def names_on(partitions: set[int], count: int, prefix: str) -> list[str]:
    """`count` centre ids whose owner partition is in `partitions`."""
    owner, names, n = Ownership(PARTITIONS), list[str](), 0
    while len(names) < count:
        name = f"{prefix}{n:03d}"
        if owner.partition_of(name) in partitions:
            names.append(name)
        n += 1
    return names


def big_centres(count: int) -> tuple[list[list[Outgoing]], list[Outgoing], int]:
    """The 20,000 instance as `count` centres on BIG's partition: calendars, outages."""
    scenario = outage_scenario(20_000, seed=1)
    owner = Ownership(PARTITIONS)
    names = names_on({owner.partition_of(BIG)}, count, "dz-big-")

    def renamed(o: Outgoing, name: str) -> Outgoing:
        value = o.value.replace(f'"{BIG}"'.encode(), f'"{name}"'.encode()) \
            .replace(b'"bench-outage-', f'"{name}-outage-'.encode())
        key = name if o.key == BIG else o.key.replace("bench-outage-", f"{name}-outage-")
        return Outgoing(o.topic, key, value)

    calendars = [[renamed(o, n) for o in scenario.calendar] for n in names]
    return calendars, [renamed(scenario.outage, n) for n in names], scenario.displaced


def reply_centre(name: str, bookings: int) -> Iterator[Outgoing]:
    """A centre with `bookings` on DAY, a place for each the next day; its outage last."""
    before = DAY - dt.timedelta(days=5)
    yield centre(name, before)
    starts = [DAY + dt.timedelta(minutes=15 * i) for i in range(bookings // 4)]
    for day, eid in ((0, "d0"), (1, "d1")):
        yield Outgoing(Topic.CAPACITY, name, event(
            "visa.slots.published.v1", f"{name}-{eid}", name, before,
            {"centre_id": name, "service": "short_stay", "slots": [
                {"start": (s + dt.timedelta(days=day)).isoformat(), "duration_min": 15,
                 "capacity": 4} for s in starts]}))
    for n in range(bookings):
        yield Outgoing(Topic.BOOKINGS, name, event(
            "visa.booking.created.v1", f"{name}-b{n}", name, before,
            {"booking_id": f"{name}-b{n}", "centre_id": name, "service": "short_stay",
             "slot_start": starts[n // 4].isoformat(), "applicant": applicant(n)}))


def reply_outage(name: str) -> Outgoing:
    outage_id = f"{name}-outage"
    return Outgoing(Topic.OUTAGES, outage_id, event(
        "visa.outage.declared.v1", outage_id, "", DAY - dt.timedelta(days=4),
        {"outage_id": outage_id, "centre_ids": [name], "start": DAY.isoformat(),
         "end": (DAY + dt.timedelta(hours=12)).isoformat(), "reason": "bench"}))


def confirmation(centre_id: str, booking_id: str, offer_id: str) -> Outgoing:
    eid = derived_id("reply", offer_id, "confirmed")
    return Outgoing(Topic.REPLIES, centre_id, event(
        "visa.offer.confirmed.v1", eid, centre_id, dt.datetime.now(dt.UTC),
        {"offer_id": offer_id, "booking_id": booking_id, "centre_id": centre_id,
         "channel": "web"}))
