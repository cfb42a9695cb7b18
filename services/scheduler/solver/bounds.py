"""A lower bound that knows families cannot be split.

The flow's duals (a price per slot, a potential per class) turn every decision into a
non-negative reduced cost, and any plan costs at least the dual bound plus the reduced
costs of its decisions. Members of different families are different units, so each
family adds at least the cheapest reduced cost of a window that keeps it together (or
of leaving it unplaced), with the slots' places but ignoring everyone else. Nothing here
is heuristic: it is LP duality.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.scheduler.solver import cost
from services.scheduler.solver.cost import IntArray
from services.scheduler.solver.families import (
    Family,
    MemberCosts,
    ReducedCosts,
    Room,
)
from services.scheduler.solver.flow import FlowResult, min_cost_placement
from services.scheduler.solver.model import Policy
from services.scheduler.solver.seating import best_window
from services.scheduler.solver.tables import BookingClass, ServiceSlots, class_costs


@dataclass(frozen=True)
class Duals:
    """The flow's optimal duals, made feasible for the unpruned problem."""

    reduced: ReducedCosts  # per member: cost + slot price - class potential, all >= 0
    value: int  # the dual bound: never above any plan's cost

    def potential(self, cls: BookingClass) -> int:
        known = self.reduced.potential.get(id(cls))
        if known is None:
            return class_potential(cls, self.reduced.tables, self.reduced.prices,
                                   self.reduced.policy)
        return known

    def class_reduced(self, cls: BookingClass) -> IntArray:
        """Reduced cost of one member of the class in each slot it can reach."""
        reduced = self.reduced
        table = reduced.tables[cls.service]
        own = class_costs(cls, table, reduced.policy)
        rc: IntArray = own + reduced.prices[cls.service][: cls.reach] - self.potential(cls)
        return rc


def flow_duals(
    relaxed: FlowResult,
    classes: Sequence[BookingClass],
    tables: Mapping[str, ServiceSlots],
    policy: Policy,
    rounds: int = 3,
) -> Duals:
    """Slot prices from the flow (what one place less costs), class potentials recomputed
    over every slot a class may use, so that no reduced cost is negative.

    The pruned network's duals can undervalue a slot it left out (the primal optimum is
    the same, the duals need not be): then the class's potential drops and with it the
    bound. Such slots are added to the network and the flow solved again, a few rounds.
    """
    capacity = {service: table.free for service, table in tables.items()}
    extra: dict[int, set[int]] = {}
    for _ in range(rounds):
        potential = class_potentials(classes, tables, relaxed.prices, policy)
        missing = _missing_arcs(classes, tables, relaxed, potential, policy)
        if not missing:
            break
        for position, index in missing:
            extra.setdefault(position, set()).add(index)
        relaxed = min_cost_placement(classes, dict(tables), capacity, policy,
                                     {k: sorted(v) for k, v in extra.items()})
    prices = relaxed.prices
    potential = class_potentials(classes, tables, prices, policy)
    value = sum(c.size * potential[id(c)] for c in classes) - sum(
        int(table.free @ prices[service]) for service, table in tables.items()
    )
    class_of = MemberCosts.of(classes, tables, policy).class_of
    return Duals(ReducedCosts(tables, class_of, policy, {}, prices, potential), value)


def family_bound(duals: Duals, flow_cost: int, together: Sequence[Family]) -> int:
    """max(flow bound, dual bound + what keeping each family together must add)."""
    tables = duals.reduced.tables
    room = Room({s: t.free.copy() for s, t in tables.items()},
                {s: np.zeros(len(t.free), dtype=np.int64) for s, t in tables.items()})
    extra = sum(_family_extra(family, duals, room) for family in together)
    return max(flow_cost, duals.value + extra)


def _missing_arcs(
    classes: Sequence[BookingClass], tables: Mapping[str, ServiceSlots], flow: FlowResult,
    potential: Mapping[int, int], policy: Policy,
) -> list[tuple[int, int]]:
    # (class position, slot index) where a slot outside the network undercuts the
    # class's potential in it.
    found = []
    network = flow.potentials
    for position, cls in enumerate(classes):
        if potential[id(cls)] < int(network[position]):
            table = tables[cls.service]
            priced = class_costs(cls, table, policy) + flow.prices[cls.service][: cls.reach]
            if cls.window is not None:
                day, lo, hi = cls.window
                minute, days = table.minute[: cls.reach], table.day[: cls.reach]
                priced = np.where((days == day) & (minute >= lo) & (minute <= hi), priced,
                                  np.iinfo(np.int64).max)
            found.append((position, int(np.argmin(priced))))
    return found


def class_potentials(
    classes: Sequence[BookingClass], tables: Mapping[str, ServiceSlots],
    prices: Mapping[str, IntArray], policy: Policy, chunk: int = 512,
) -> dict[int, int]:
    """class_potential for many classes at once: a (classes x slots) matrix per chunk."""
    found: dict[int, int] = {}
    plain: dict[str, list[BookingClass]] = {}
    for cls in classes:
        if cls.window is None and cls.service in tables and cls.reach > 0:
            plain.setdefault(cls.service, []).append(cls)
        else:
            found[id(cls)] = class_potential(cls, tables, prices, policy)
    for service, group in plain.items():
        table = tables[service]
        for first in range(0, len(group), chunk):
            part = group[first : first + chunk]
            found.update(zip((id(c) for c in part),
                             _potentials(part, table, prices[service], policy), strict=True))
    return found


def _potentials(
    part: Sequence[BookingClass], table: ServiceSlots, price: IntArray, policy: Policy
) -> list[int]:
    def column(values: list[int]) -> IntArray:
        return np.array(values, dtype=np.int64)[:, None]

    # placement_cost = distance_part + day_part, the day part priced once per day.
    weight = column([c.weight for c in part])
    per_day = cost.ints(cost.day_part(
        weight, column([c.from_day for c in part]), table.days[None, :],
        table.days_committed[None, :],
        column([c.travel for c in part]),
        np.array([c.committable for c in part], dtype=np.bool_)[:, None], policy,
    ))
    distance = cost.ints(cost.distance_part(weight, column([c.from_minute for c in part]),
                                            table.minute[None, :]))
    priced = distance + per_day[:, table.day_of] + price[None, :]
    reachable = np.arange(len(table.minute))[None, :] < column([c.reach for c in part])
    cheapest = np.where(reachable, priced, np.iinfo(np.int64).max).min(axis=1)
    unplaced = np.array([c.unplaced for c in part], dtype=np.int64)
    return [int(x) for x in np.minimum(cheapest, unplaced)]


def class_potential(
    cls: BookingClass, tables: Mapping[str, ServiceSlots], prices: Mapping[str, IntArray],
    policy: Policy,
) -> int:
    # The cheapest priced option of the class over every slot it may use, not only the
    # arcs the flow kept: that keeps the duals feasible for the unpruned problem.
    table = tables.get(cls.service)
    if table is None or cls.reach == 0:
        return cls.unplaced
    priced = class_costs(cls, table, policy) + prices[cls.service][: cls.reach]
    if cls.window is not None:
        day, lo, hi = cls.window
        minute, days = table.minute[: cls.reach], table.day[: cls.reach]
        priced = priced[(days == day) & (minute >= lo) & (minute <= hi)]
    return min(cls.unplaced, int(priced.min())) if len(priced) else cls.unplaced


def _family_extra(family: Family, duals: Duals, room: Room) -> int:
    classes = [duals.reduced.class_of[m.booking_id] for m in family.members]
    leave = sum(c.unplaced - duals.potential(c) for c in classes)
    window = best_window(family, duals.reduced, room)
    return leave if window is None else min(leave, window.score)
