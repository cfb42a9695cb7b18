"""From the family-blind flow to places that keep every family together.

1. Hand each class's flow to its members; family members sit side by side in a class,
   so most families already land together.
2. Families still split get the window with the lowest cost plus dual price of the places
   they take from others (families.best_window), the most important families first, or
   are unplaced together when no window pays off. The single bookings are then placed
   again by an exact flow around the families (improve.py).
"""

from collections import Counter
from collections.abc import Mapping, Sequence

from services.scheduler.solver.cost import IntArray
from services.scheduler.solver.families import (
    Family,
    MemberCosts,
    Room,
    SlotRef,
    family_priority,
    keeps_together,
)
from services.scheduler.solver.flow import FlowResult
from services.scheduler.solver.model import Displaced, Policy
from services.scheduler.solver.seating import best_window
from services.scheduler.solver.tables import BookingClass, ServiceSlots

Assignment = dict[str, SlotRef | None]
FamilyPlaces = dict[str, tuple[SlotRef | None, ...]]  # group id -> places, members' order


def members_to_slots(
    classes: Sequence[BookingClass], flows: FlowResult, tables: Mapping[str, ServiceSlots],
    window_min: int,
) -> Assignment:
    """Give each member of a class one of the class's places, families in one window.

    All places of a class cost its members the same, so who takes which is free to
    choose: families first, each in the tightest run of places that fits it.
    """
    assignment: Assignment = {}
    for cls, flow in zip(classes, flows.classes, strict=True):
        places = [index for index, count in sorted(flow.placed.items()) for _ in range(count)]
        table = tables.get(cls.service)
        for members in _by_family(cls.members):
            chosen = _run_of_places(places, len(members), table, window_min)
            for member, index in zip(members, chosen, strict=False):
                assignment[member.booking_id] = (cls.service, index)
            for member in members[len(chosen):]:
                assignment[member.booking_id] = None
    return assignment


def _by_family(members: Sequence[Displaced]) -> list[list[Displaced]]:
    # Largest families first, then the rest one by one (class order is deterministic).
    grouped: dict[str, list[Displaced]] = {}
    singles: list[list[Displaced]] = []
    for member in members:
        if member.group_id is None:
            singles.append([member])
        else:
            grouped.setdefault(member.group_id, []).append(member)
    return sorted(grouped.values(), key=lambda g: -len(g)) + singles


def _run_of_places(
    places: list[int], size: int, table: ServiceSlots | None, window_min: int
) -> list[int]:
    # Take `size` places from the (sorted) list, within one day and window if possible;
    # the chosen places are removed from the list.
    if table is None or not places:
        return []
    if size > 1:
        for first in range(len(places) - size + 1):
            last = places[first + size - 1]
            if (table.day[last] == table.day[places[first]]
                    and table.minute[last] - table.minute[places[first]] <= window_min):
                chosen = places[first : first + size]
                del places[first : first + size]
                return chosen
    chosen = places[:size]
    del places[:size]
    return chosen


def split_families(
    together: Sequence[Family], assignment: Assignment, tables: Mapping[str, ServiceSlots],
    policy: Policy,
) -> list[Family]:
    """The families the family-blind flow pulled apart."""
    return [f for f in together
            if not keeps_together(f, [assignment[m.booking_id] for m in f.members], tables,
                                  policy)]


def family_places(
    together: Sequence[Family],
    split: Sequence[Family],
    assignment: Assignment,
    costs: MemberCosts,
    relaxed: FlowResult,
    keep_at_gain: bool,
) -> FamilyPlaces:
    """Intact families keep their places; split ones get the best window left, in turn.

    keep_at_gain: price a place the family already holds at what giving it back is
    worth to others (True), or at nothing (False, which favours staying near the flow's
    answer). With degenerate duals either can be better; the caller tries both.
    """
    places: FamilyPlaces = {
        f.group_id: tuple(assignment[m.booking_id] for m in f.members) for f in together
    }
    broken = {f.group_id for f in split}
    room = Room(_room_left(costs.tables, places, broken), relaxed.prices,
                relaxed.gains if keep_at_gain else {})
    for family in sorted(split, key=lambda f: family_priority(f, costs.policy)):
        room.own = Counter(r for r in places[family.group_id] if r is not None)
        places[family.group_id] = _place_family(family, costs, room)
    return places


def _place_family(family: Family, costs: MemberCosts, room: Room) -> tuple[SlotRef | None, ...]:
    # Together in the best window, or unplaced together when that is cheaper.
    window = best_window(family, costs, room)
    leave = sum(costs.class_of[m.booking_id].unplaced for m in family.members)
    # Both sides count the places the family holds as given back (worth their gains).
    if window is None or window.score >= leave + sum(map(room.kept_price, room.own.elements())):
        return (None,) * len(family.members)
    room.take(window.places)
    return window.places


def _room_left(
    tables: Mapping[str, ServiceSlots], places: FamilyPlaces, broken: set[str]
) -> dict[str, IntArray]:
    # Families already together keep their places; single bookings can be moved.
    hard = {service: table.free.copy() for service, table in tables.items()}
    for group_id, refs in places.items():
        if group_id not in broken:
            for ref in refs:
                if ref is not None:
                    hard[ref[0]][ref[1]] -= 1
    return hard
