"""Families: members placed on one day within the group window, next to those who stay.

The flow ignores families, so its answer may split one. best_window finds a family the
cheapest window (day, start .. start + group_window_min) with room for all its members:
places other families hold are off limits, places single bookings hold cost their dual
price (what the others lose; they are re-flowed exactly afterwards). With no prices and
reduced costs as costs, the same search gives the bound module its exact per-family term.
"""

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.scheduler.solver import rules
from services.scheduler.solver.model import Displaced, Instance, Policy
from services.scheduler.solver.tables import BookingClass, IntArray, ServiceSlots, class_costs

SlotRef = tuple[str, int]  # (service, index in its ServiceSlots)
NEVER = 2**60


@dataclass(frozen=True)
class Family:
    """The displaced members of one group, and where its staying members are."""

    group_id: str
    members: tuple[Displaced, ...]
    anchors: tuple[tuple[int, int], ...]  # (start minute, local day ordinal)


def family_priority(family: Family, policy: Policy) -> tuple[int, int, int, str]:
    # Heaviest member first, then the nearest deadline, then the larger family.
    deadlines = [m.deadline.toordinal() for m in family.members if m.deadline is not None]
    return (-max(rules.weight(m, policy) for m in family.members), min(deadlines, default=NEVER),
            -len(family.members), family.group_id)


def families(instance: Instance) -> list[Family]:
    """Groups whose rules bind: two displaced members or more, or someone staying put."""
    grouped: dict[str, list[Displaced]] = defaultdict(list)
    for booking in instance.bookings:
        if booking.group_id is not None:
            grouped[booking.group_id].append(booking)
    found = []
    for group_id, members in sorted(grouped.items()):
        anchors = tuple(
            (rules.minute_of(start), day.toordinal())
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


@dataclass(frozen=True)
class Window:
    cost: int  # the members' own cost, without bump prices
    score: int  # cost plus the estimated bumping
    places: tuple[SlotRef, ...]  # one per member, in family.members order


def best_window(family: Family, costs: MemberCosts, room: Room) -> Window | None:
    """The cheapest day and window with room for every displaced member, if any (exact:
    with no price on places, the bound module relies on it being the true minimum)."""
    anchor_days = {day for _, day in family.anchors}
    if len(anchor_days) > 1:
        return None
    options = [_member_options(member, costs, room) for member in family.members]
    order = sorted(range(len(family.members)),
                   key=lambda k: (-rules.weight(family.members[k], costs.policy), k))
    best: Window | None = None
    for bound, day in _days_by_promise(options, anchor_days):
        if best is not None and bound >= best.score:
            break  # days come cheapest bound first: no later day can do better
        found = _best_on_day(family, options, order, room, day, costs.policy.group_window_min)
        if found is not None and (best is None or found.score < best.score):
            best = found
    return best


@dataclass(frozen=True)
class _Options:
    """The slots one member could take, sorted by start, with its cost and price there."""

    service: str
    index: list[int]  # in the service's table
    minute: list[int]
    day: list[int]
    own: list[int]  # the member's own cost
    price: list[int]  # what taking one more place there costs the others
    day_start: dict[int, tuple[int, int]]  # local day -> positions [lo, hi)
    cheapest: dict[int, int]  # local day -> lowest own + price (a bound for the day)


def _member_options(member: Displaced, costs: MemberCosts, room: Room) -> _Options:
    table = costs.tables.get(member.service)
    own = costs.costs(member)
    if table is None or len(own) == 0:
        return _Options(member.service, [], [], [], [], [], {}, {})
    usable = np.flatnonzero(room.hard[member.service][: len(own)] > 0)
    if len(usable) == 0:
        return _Options(member.service, [], [], [], [], [], {}, {})
    price = room.prices[member.service][usable]
    held = [index for service, index in room.own if service == member.service]
    gains = room.gains.get(member.service)
    kept = np.zeros_like(price) if gains is None else gains[usable]
    at_most = np.where(np.isin(usable, held), np.minimum(kept, price), price)
    day = table.day[usable]
    days, first = np.unique(day, return_index=True)
    last = np.append(first[1:], len(usable))
    cheapest = np.minimum.reduceat(own[usable] + at_most, first)
    return _Options(
        service=member.service, index=usable.tolist(), minute=table.minute[usable].tolist(),
        day=day.tolist(), own=own[usable].tolist(), price=price.tolist(),
        day_start={d: (f, e) for d, f, e in zip(days.tolist(), first.tolist(), last.tolist(),
                                                strict=True)},
        cheapest=dict(zip(days.tolist(), cheapest.tolist(), strict=True)),
    )


def _days_by_promise(options: list[_Options], anchor_days: set[int]) -> list[tuple[int, int]]:
    # A lower bound per day (each member at its cheapest priced slot), cheapest first.
    common = set(options[0].cheapest)
    for member in options[1:]:
        common &= member.cheapest.keys()
    if anchor_days:
        common &= anchor_days
    return sorted((sum(o.cheapest[d] for o in options), d) for d in common)


def _best_on_day(
    family: Family, options: list[_Options], order: list[int], room: Room, day: int,
    window: int,
) -> Window | None:
    spans = [o.day_start[day] for o in options]
    anchor_minutes = [m for m, _ in family.anchors]
    starts = {o.minute[i] for o, (lo, hi) in zip(options, spans, strict=True)
              for i in range(lo, hi)}
    best: Window | None = None
    for start in sorted(starts | set(anchor_minutes)):
        if anchor_minutes and not (
            start <= min(anchor_minutes) and start + window >= max(anchor_minutes)
        ):
            continue
        found = _fill_window(order, options, spans, room, start, start + window)
        if found is not None and (best is None or found.score < best.score):
            best = found
    return best


def _fill_window(
    order: list[int], options: list[_Options], spans: list[tuple[int, int]], room: Room,
    lo: int, hi: int,
) -> Window | None:
    # The cheapest way to seat the members in slots starting in [lo, hi], capacity and
    # prices respected: a branch and bound over a handful of members and slots.
    choices: list[list[tuple[int, int, int, SlotRef]]] = []
    for k in order:
        member = options[k]
        first = bisect_left(member.minute, lo, *spans[k])
        last = bisect_right(member.minute, hi, first, spans[k][1])
        here = []
        for i in range(first, last):
            ref = (member.service, member.index[i])
            price = member.price[i]
            floor = member.own[i] + (min(room.kept_price(ref), price) if room.own.get(ref, 0)
                                     else price)
            here.append((floor, member.own[i], member.price[i], ref))
        if not here:
            return None
        choices.append([(own, price, floor, ref) for floor, own, price, ref in sorted(here)])
    quick = _each_at_cheapest(choices, room)
    if quick is not None:
        score, cost, chosen = quick
    else:
        seating = _Seating(choices, room)
        seating.search(0, 0, 0)
        if seating.best is None:
            return None
        score, cost, chosen = seating.best
    places: list[SlotRef | None] = [None] * len(order)
    for k, ref in zip(order, chosen, strict=True):
        places[k] = ref
    return Window(cost, score, tuple(p for p in places if p is not None))


def _each_at_cheapest(
    choices: list[list[tuple[int, int, int, SlotRef]]], room: Room
) -> tuple[int, int, tuple[SlotRef, ...]] | None:
    # Usually every member can take its cheapest place at its lower-bound price: that is
    # then the optimum. Otherwise (capacity, or a held place priced above a fresh one)
    # the search decides.
    chosen = tuple(member[0][3] for member in choices)
    taken = Counter(chosen)
    score = 0
    for member in choices:
        own, price, floor, ref = member[0]
        held = room.own.get(ref, 0)
        exact = own + (room.kept_price(ref) if held else price)
        if exact != floor or taken[ref] > room.hard[ref[0]][ref[1]] or (
                held and taken[ref] > held):
            return None
        score += exact
    return score, sum(member[0][0] for member in choices), chosen


class _Seating:
    """Branch and bound: members in turn, each trying its places cheapest first."""

    def __init__(self, choices: list[list[tuple[int, int, int, SlotRef]]], room: Room) -> None:
        self.choices = choices
        self.room = room
        self.taken: Counter[SlotRef] = Counter()
        self.chosen: list[SlotRef] = []
        floors = [min(c[2] for c in member) for member in choices]
        self.rest = [sum(floors[k:]) for k in range(len(choices) + 1)]
        self.best: tuple[int, int, tuple[SlotRef, ...]] | None = None

    def search(self, k: int, score: int, cost: int) -> None:
        if self.best is not None and score + self.rest[k] >= self.best[0]:
            return
        if k == len(self.choices):
            self.best = (score, cost, tuple(self.chosen))
            return
        for own, price, _, ref in self.choices[k]:
            used = self.taken[ref]
            if used >= self.room.hard[ref[0]][ref[1]]:
                continue
            extra = self.room.kept_price(ref) if used < self.room.own.get(ref, 0) else price
            self.taken[ref] += 1
            self.chosen.append(ref)
            self.search(k + 1, score + own + extra, cost + own)
            self.chosen.pop()
            self.taken[ref] -= 1
