"""A lower bound that knows families cannot be split.

The flow's duals (a price per slot, a potential per class) turn every decision into a
non-negative reduced cost, and any plan costs at least the dual bound plus the reduced
costs of its decisions. Members of different families are different units, so each
family adds at least the cheapest reduced cost of a window that keeps it together (or
of leaving it unplaced), with the slots' places but ignoring everyone else. Nothing here
is heuristic: it is LP duality.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from services.scheduler.solver.families import (
    Family,
    MemberCosts,
    ReducedCosts,
    Room,
    best_window,
)
from services.scheduler.solver.flow import FlowResult
from services.scheduler.solver.model import Policy
from services.scheduler.solver.tables import BookingClass, IntArray, ServiceSlots, class_costs


def family_bound(
    relaxed: FlowResult,
    classes: Sequence[BookingClass],
    tables: Mapping[str, ServiceSlots],
    together: Sequence[Family],
    policy: Policy,
) -> int:
    """max(flow bound, dual bound + what keeping each family together must add).

    The slot prices are the flow's duals (what one place less would cost); any prices
    would give a valid bound, these make the dual part equal to the flow's optimum.
    """
    class_of = MemberCosts.of(classes, tables, policy).class_of
    return max(relaxed.cost,
               _bound_with(relaxed.prices, classes, class_of, tables, together, policy))


def _bound_with(
    prices: Mapping[str, IntArray],
    classes: Sequence[BookingClass],
    class_of: Mapping[str, BookingClass],
    tables: Mapping[str, ServiceSlots],
    together: Sequence[Family],
    policy: Policy,
) -> int:
    potential = {id(c): class_potential(c, tables, prices, policy) for c in classes}
    dual = sum(c.size * potential[id(c)] for c in classes) - sum(
        int(table.free @ prices[service]) for service, table in tables.items()
    )
    reduced = ReducedCosts(tables, class_of, policy, {}, prices, potential)
    room = Room({s: t.free.copy() for s, t in tables.items()},
                {s: np.zeros(len(t.free), dtype=np.int64) for s, t in tables.items()})
    return dual + sum(_family_extra(family, reduced, room, potential) for family in together)


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


def _family_extra(
    family: Family, reduced: ReducedCosts, room: Room, potential: Mapping[int, int]
) -> int:
    classes = [reduced.class_of[m.booking_id] for m in family.members]
    leave = sum(c.unplaced - potential[id(c)] for c in classes)
    window = best_window(family, reduced, room)
    return leave if window is None else min(leave, window.score)
