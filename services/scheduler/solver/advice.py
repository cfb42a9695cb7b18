"""Capacity advice (CONTRACT v1.1): where operations should add places for the waiting.

Exactly the waiting bookings are counted, each once. They are spread over the earliest
dates the centre opens for their service, starting with the first whole day at least the
outage's notice after the decision's clock, each date taking at most `share` of the
service's usual daily capacity (at least one place), a family's places all on one date.
Dates run past the waiting horizon when needed: the advice is never empty while someone
waits. Who comes first: the earliest original slot (the fairness of the unplaced cost).

A family larger than a date's share gets a date of its own, whose share it then exceeds:
splitting it would break the family rule.
"""

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

DAY = timedelta(days=1)
ALL_WEEK = frozenset(range(7))


@dataclass(frozen=True)
class AdviceCalendar:
    """What the spread needs to know of the centre, per service."""

    first_day: date  # the first date far enough from the decision's clock
    usual: Mapping[str, int]  # usual daily capacity (places per date)
    weekdays: Mapping[str, frozenset[int]]  # weekdays it opens (Monday = 0)
    closed: Mapping[str, frozenset[date]] = field(default_factory=dict)  # stopped by outages
    share: float = 0.25

    def day_cap(self, service: str) -> int:
        return max(1, math.floor(self.share * self.usual.get(service, 0)))

    def opens(self, service: str, day: date, any_weekday: bool = False) -> bool:
        return ((any_weekday or day.weekday() in self.weekdays.get(service, ALL_WEEK))
                and day not in self.closed.get(service, frozenset()))

    def share_a_weekday(self, services: Iterable[str]) -> bool:
        common = ALL_WEEK
        for service in services:
            common = common & self.weekdays.get(service, ALL_WEEK)
        return bool(common)


def spread_advice(units: Sequence[Mapping[str, int]],
                  calendar: AdviceCalendar) -> list[tuple[date, str, int]]:
    """(date, service, places), sorted; `units` are the waiting families and single
    bookings (places per service that must share a date), most deserving first."""
    used: Counter[tuple[date, str]] = Counter()
    first_free: dict[str, date] = {}  # per service: no earlier date has room left

    def fits(day: date, service: str, places: int, any_weekday: bool = False) -> bool:
        taken = used[(day, service)]
        cap = calendar.day_cap(service)
        return calendar.opens(service, day, any_weekday) and (
            taken + places <= cap or (taken == 0 and places > cap))

    for unit in units:
        if not unit:
            continue
        # A family whose services never open on the same weekday still gets one date.
        any_weekday = not calendar.share_a_weekday(unit)
        day = max(first_free.get(s, calendar.first_day) for s in unit)
        while not all(fits(day, s, n, any_weekday) for s, n in unit.items()):
            day += DAY
        for service, places in unit.items():
            used[(day, service)] += places
            start = first_free.get(service, calendar.first_day)
            while not fits(start, service, 1):
                start += DAY
            first_free[service] = start
    return sorted((day, service, n) for (day, service), n in used.items())


def usual_daily_capacity(per_day: Mapping[date, int]) -> int:
    """The median of the published daily capacities (days with none left out): one day of
    extra opening or a half day does not move it, unlike the mean."""
    days = sorted(c for c in per_day.values() if c > 0)
    if not days:
        return 0
    middle = len(days) // 2
    return days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) // 2
