"""Families: members placed on one day within the group window, next to those who stay.

The flow ignores families, so its answer may split one. This module says what a family is,
whether places keep it together, what each member pays (own or reduced costs) and what
room is left for it; seating.py finds it the best window.
"""

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.scheduler.solver import rules
from services.scheduler.solver.cost import IntArray, minute_of, weight
from services.scheduler.solver.model import Displaced, Instance, Policy
from services.scheduler.solver.tables import BookingClass, ServiceSlots, class_costs

SlotRef = tuple[str, int]  # (service, index in its ServiceSlots)
NEVER = 2**60


@dataclass(frozen=True)
class Family:
    """The displaced members of one group, and where its staying members are."""

    group_id: str
    members: tuple[Displaced, ...]
    anchors: tuple[tuple[int, int], ...]  # (start minute, local day ordinal)


def family_priority(family: Family, policy: Policy) -> tuple[int, int, int, str]:
    # Heaviest member first, then the nearest travel date, then the larger family.
    travels = [m.travel_date.toordinal() for m in family.members if m.travel_date is not None]
    return (-max(weight(m.category, policy) for m in family.members),
            min(travels, default=NEVER), -len(family.members), family.group_id)


def families(instance: Instance) -> list[Family]:
    """Groups whose rules bind: two displaced members or more, or someone staying put."""
    grouped: dict[str, list[Displaced]] = defaultdict(list)
    for booking in instance.bookings:
        if booking.group_id is not None:
            grouped[booking.group_id].append(booking)
    found = []
    for group_id, members in sorted(grouped.items()):
        anchors = tuple(
            (minute_of(start), day.toordinal())
            for start, day in instance.anchors.get(group_id, ())
        )
        if len(members) > 1 or anchors:
            found.append(Family(group_id, tuple(sorted(members, key=lambda m: m.booking_id)),
                                anchors))
    return found


def keeps_together(
    family: Family, places: Sequence[SlotRef | None], tables: Mapping[str, ServiceSlots],
    policy: Policy,
) -> bool:
    """The group rules of rules.py, on slot references."""
    if not rules.group_all_or_nothing(place is not None for place in places):
        return False
    chosen = [place for place in places if place is not None]
    if not chosen:
        return True
    minutes = [int(tables[s].minute[i]) for s, i in chosen] + [m for m, _ in family.anchors]
    days = [int(tables[s].day[i]) for s, i in chosen] + [d for _, d in family.anchors]
    return len(set(days)) == 1 and max(minutes) - min(minutes) <= policy.group_window_min


@dataclass
class MemberCosts:
    """Each displaced member's price in every reachable slot of its service."""

    tables: Mapping[str, ServiceSlots]
    class_of: Mapping[str, BookingClass]
    policy: Policy
    _cache: dict[int, IntArray]

    @staticmethod
    def of(classes: Sequence[BookingClass], tables: Mapping[str, ServiceSlots],
           policy: Policy) -> "MemberCosts":
        class_of = {m.booking_id: c for c in classes for m in c.members}
        return MemberCosts(tables, class_of, policy, {})

    def costs(self, member: Displaced) -> IntArray:
        cls = self.class_of[member.booking_id]
        table = self.tables.get(cls.service)
        if table is None:
            return np.zeros(0, dtype=np.int64)
        key = id(cls)
        if key not in self._cache:
            self._cache[key] = self.price_class(cls, table)
        return self._cache[key]

    def price_class(self, cls: BookingClass, table: ServiceSlots) -> IntArray:
        return class_costs(cls, table, self.policy)


@dataclass
class ReducedCosts(MemberCosts):
    """Reduced costs of the flow's dual: what a member pays beyond the flow's optimum."""

    prices: Mapping[str, IntArray] = field(default_factory=dict)  # slot duals
    potential: Mapping[int, int] = field(default_factory=dict)  # id(class) -> class dual

    def price_class(self, cls: BookingClass, table: ServiceSlots) -> IntArray:
        own = class_costs(cls, table, self.policy)
        return own + self.prices[cls.service][: len(own)] - self.potential[id(cls)]


@dataclass
class Room:
    """What a family may take: hard room per slot, and the price of each place in it.

    A place the family already holds is priced at what giving it back would have been
    worth to the others (gains): keeping it forgoes that, taking a new one costs them its
    price. Scores of different windows of one family are then comparable.
    """

    hard: dict[str, IntArray]  # places not held by other families
    prices: dict[str, IntArray]  # what one place less costs the others (dual price)
    gains: dict[str, IntArray] = field(default_factory=dict)  # what one place more saves
    own: Counter[SlotRef] = field(default_factory=Counter)  # places the family holds now

    def kept_price(self, ref: SlotRef) -> int:
        gains = self.gains.get(ref[0])
        return 0 if gains is None else int(gains[ref[1]])

    def take(self, refs: Sequence[SlotRef]) -> None:
        for service, index in refs:
            self.hard[service][index] -= 1
