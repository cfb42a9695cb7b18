"""The baseline a dispatcher would apply by hand, for comparison in the bench.

Bookings in priority order (weight, then nearest travel date, then earliest original slot
as the v1.1 fairness rule, then booking id) each take the free slot cheapest for them; a
family is seated together, in its cheapest window with room, when its first member's turn
comes, or is left unplaced together.
"""

from collections.abc import Sequence
from datetime import datetime
from time import perf_counter

import numpy as np

from services.scheduler.solver.cost import IntArray, weight
from services.scheduler.solver.families import Family, MemberCosts, Room, SlotRef
from services.scheduler.solver.families import families as find_families
from services.scheduler.solver.model import Displaced, Instance, Plan, Policy
from services.scheduler.solver.seating import best_window
from services.scheduler.solver.solve import to_assignments
from services.scheduler.solver.tables import (
    BookingClass,
    booking_classes,
    class_costs,
    family_windows,
    service_slots,
)
from services.scheduler.solver.validate import plan_cost

NEVER = 10**9


def greedy(instance: Instance) -> Plan:
    """First come (by priority), first served; no bound (reported as 0)."""
    started = perf_counter()
    tables = service_slots(instance)
    classes = booking_classes(list(instance.bookings), tables, instance.policy,
                              family_windows(instance, tables))
    costs = MemberCosts.of(classes, tables, instance.policy)
    room = Room({s: t.free.copy() for s, t in tables.items()},
                {s: np.zeros(len(t.free), dtype=np.int64) for s, t in tables.items()})
    seats = _Seats(costs, room)
    places: dict[str, SlotRef | None] = {}
    for turn in _turns(instance, find_families(instance)):
        if isinstance(turn, Family):
            places.update(seats.family(turn))
        else:
            places[turn.booking_id] = seats.single(turn)
    decisions = to_assignments(instance, tables, places)
    total = plan_cost(instance, decisions)
    return Plan(assignments=decisions, cost=total, bound=0,
                status="optimal" if total == 0 else "feasible",
                solve_ms=round((perf_counter() - started) * 1000))


def _priority(booking: Displaced, policy: Policy) -> tuple[int, int, datetime, str]:
    travel = booking.travel_date.toordinal() if booking.travel_date is not None else NEVER
    return (-weight(booking.category, policy), travel, booking.from_start, booking.booking_id)


def _turns(instance: Instance, together: Sequence[Family]) -> list[Displaced | Family]:
    # A family takes its turn with its most urgent member.
    family_of = {m.booking_id: f for f in together for m in f.members}
    turns: list[Displaced | Family] = []
    seen: set[str] = set()
    for booking in sorted(instance.bookings, key=lambda b: _priority(b, instance.policy)):
        family = family_of.get(booking.booking_id)
        if family is None:
            turns.append(booking)
        elif family.group_id not in seen:
            seen.add(family.group_id)
            turns.append(family)
    return turns


class _Seats:
    """Remaining places, and each class's slots cheapest first (walked once, in order)."""

    def __init__(self, costs: MemberCosts, room: Room) -> None:
        self.costs = costs
        self.room = room
        self.order: dict[int, tuple[IntArray, IntArray]] = {}
        self.position: dict[int, int] = {}

    def single(self, booking: Displaced) -> SlotRef | None:
        cls = self.costs.class_of[booking.booking_id]
        ranked, price = self._ranked(cls)
        if len(ranked) == 0:
            return None  # no usable slot of its service at all
        free = self.room.hard[cls.service]
        at = self.position.get(id(cls), 0)
        while at < len(ranked) and free[ranked[at]] <= 0:
            at += 1  # full slots stay full: later members of the class skip them too
        self.position[id(cls)] = at
        if at == len(ranked) or price[at] >= cls.unplaced:
            return None
        free[ranked[at]] -= 1
        return (cls.service, int(ranked[at]))

    def family(self, family: Family) -> dict[str, SlotRef | None]:
        window = best_window(family, self.costs, self.room)
        leave = sum(self.costs.class_of[m.booking_id].unplaced for m in family.members)
        ids = [m.booking_id for m in family.members]
        if window is None or window.cost >= leave:
            return dict.fromkeys(ids)
        self.room.take(window.places)
        return dict(zip(ids, window.places, strict=True))

    def _ranked(self, cls: BookingClass) -> tuple[IntArray, IntArray]:
        if id(cls) not in self.order:
            table = self.costs.tables.get(cls.service)
            if table is None:
                empty = np.zeros(0, dtype=np.int64)
                self.order[id(cls)] = (empty, empty)
            else:
                price = class_costs(cls, table, self.costs.policy)
                ranked = np.argsort(price, kind="stable")
                self.order[id(cls)] = (ranked, price[ranked])
        return self.order[id(cls)]
