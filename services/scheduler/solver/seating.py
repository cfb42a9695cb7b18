"""best_window: the cheapest window (day, start .. start + group_window_min) with room for
all of a family's members.

Places other families hold are off limits, places single bookings hold cost their dual
price (what the others lose; they are re-flowed exactly afterwards). With no prices and
reduced costs as costs, the same search gives the bound module its exact per-family term.
"""

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass

import numpy as np

from services.scheduler.solver.cost import weight
from services.scheduler.solver.families import Family, MemberCosts, Room, SlotRef
from services.scheduler.solver.model import Displaced


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
                   key=lambda k: (-weight(family.members[k].category, costs.policy), k))
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
