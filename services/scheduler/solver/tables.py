"""Array views of the centre's usable slots and of interchangeable displaced bookings.

The solver prices thousands of (booking, slot) pairs; doing it on numpy arrays keeps the
formulation in Python and the arithmetic in C. Every price comes from cost.py, the same
functions the validator applies to one booking at a time.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

import numpy as np

from services.scheduler.solver import cost, rules
from services.scheduler.solver.cost import NO_TRAVEL, BoolArray, IntArray
from services.scheduler.solver.model import Displaced, Instance, Policy, Slot

Window = tuple[int, int, int]  # (local day ordinal, first start minute, last start minute)
NOWHERE: Window = (0, 1, 0)


@dataclass(frozen=True)
class ServiceSlots:
    """The slots of one service anyone could take (free, after notice), sorted by start."""

    service: str
    slots: tuple[Slot, ...]
    starts: tuple[datetime, ...]
    minute: IntArray  # start, minutes since the epoch
    day: IntArray  # local day ordinal
    committed: BoolArray  # the day lies in a commitment window
    free: IntArray
    days: IntArray  # the distinct local days, sorted
    days_committed: BoolArray  # per distinct day: in a commitment window
    day_of: IntArray  # per slot, its day's position in `days`


@dataclass(frozen=True)
class BookingClass:
    """Displaced bookings that cost the same wherever they go: one flow commodity."""

    service: str
    from_minute: int
    from_day: int  # local day ordinal
    weight: int
    travel: int  # local day ordinal, NO_TRAVEL when no candidate day can be late
    committable: bool  # an official: the processing time depends on the new day
    reach: int  # slots[:reach] of the service lie within the horizon
    unplaced: int  # cost of leaving one member without a slot
    members: tuple[Displaced, ...]  # family members first, side by side
    # Members of a family whose other members stay put can only join them: (local day
    # ordinal, first minute, last minute) of the starts compatible with those anchors.
    window: Window | None = None

    @property
    def size(self) -> int:
        return len(self.members)


def service_slots(instance: Instance) -> dict[str, ServiceSlots]:
    """Usable slots per service; two entries for one start add up their places."""
    merged: dict[tuple[str, object], Slot] = {}
    for slot in instance.slots:
        if not (rules.has_free_place(slot) and rules.respects_notice(slot.start, instance)):
            continue
        key = (slot.service, slot.start)
        known = merged.get(key)
        merged[key] = slot if known is None else known.model_copy(
            update={"free": known.free + slot.free}
        )
    by_service: dict[str, list[Slot]] = defaultdict(list)
    for slot in merged.values():
        by_service[slot.service].append(slot)
    return {service: _table(service, slots, instance.policy)
            for service, slots in sorted(by_service.items())}


def _table(service: str, slots: list[Slot], policy: Policy) -> ServiceSlots:
    ordered = tuple(sorted(slots, key=lambda s: s.start))
    day = np.array([s.day.toordinal() for s in ordered], dtype=np.int64)
    days, day_of = np.unique(day, return_inverse=True)
    days_committed = np.asarray(cost.committed(days.astype(np.int64), policy), dtype=np.bool_)
    return ServiceSlots(
        service=service,
        slots=ordered,
        starts=tuple(s.start for s in ordered),
        minute=np.array([cost.minute_of(s.start) for s in ordered], dtype=np.int64),
        day=day,
        committed=days_committed[day_of.reshape(-1)],
        free=np.array([s.free for s in ordered], dtype=np.int64),
        days=days.astype(np.int64),
        days_committed=days_committed,
        day_of=day_of.astype(np.int64).reshape(-1),
    )


class ClassKey(NamedTuple):
    """Bookings with the same key are interchangeable: same origin, weight, lateness and
    cost of being left unplaced."""

    service: str
    from_start: datetime
    weight: int
    travel: int
    committable: bool
    outage_day: int
    anchored_group: str  # "" unless the booking must join members who stay put


def class_key(
    booking: Displaced, table: ServiceSlots | None, policy: Policy, anchored: bool = False,
    never_late: dict[tuple[int, bool], bool] | None = None,
) -> ClassKey:
    # A travel date whose deadline no day of the service can pass is none at all for the
    # cost, and then whether an official's window is kept does not matter either: such
    # bookings share a class. never_late caches the answer per (travel, category kind).
    travel = cost.travel_ordinal(booking.travel_date)
    can_change = cost.committable(booking.category)
    known = {} if never_late is None else never_late
    if (travel, can_change) not in known:
        known[(travel, can_change)] = table is None or cost.never_late(
            travel, can_change, table.day, table.committed, policy)
    if known[(travel, can_change)]:
        travel, can_change = NO_TRAVEL, False
    group = (booking.group_id or "") if anchored else ""
    return ClassKey(booking.service, booking.from_start, cost.weight(booking.category, policy),
                    travel, can_change, booking.outage_day.toordinal(), group)


def family_windows(
    instance: Instance, tables: Mapping[str, ServiceSlots]
) -> dict[str, Window]:
    """Where displaced members of families with members staying put can go, if anywhere.

    They must start within the group window of every member who stays, on that day; if
    that stretch has fewer places than they are, the family can only be left unplaced.
    """
    policy = instance.policy
    members: dict[str, list[Displaced]] = defaultdict(list)
    for booking in instance.bookings:
        if booking.group_id in instance.anchors:
            members[booking.group_id].append(booking)
    windows = {}
    for group_id, displaced in sorted(members.items()):
        window = _near_anchors(instance.anchors[group_id], policy)
        enough = all(_places_in(window, tables.get(service), [m for m in displaced
                                                               if m.service == service], policy)
                     for service in {m.service for m in displaced})
        windows[group_id] = window if enough else NOWHERE
    return windows


def _near_anchors(anchors: tuple[tuple[datetime, date], ...], policy: Policy) -> Window:
    minutes = [cost.minute_of(start) for start, _ in anchors]
    days = {day.toordinal() for _, day in anchors}
    if len(days) != 1 or max(minutes) - min(minutes) > policy.group_window_min:
        return NOWHERE  # the members who stay are already apart: nobody can join them
    return (days.pop(), max(minutes) - policy.group_window_min,
            min(minutes) + policy.group_window_min)


def _places_in(
    window: Window, table: ServiceSlots | None, members: list[Displaced], policy: Policy
) -> bool:
    if table is None:
        return False
    reach = max(bisect_right(table.starts, m.from_start + timedelta(days=policy.horizon_days))
                for m in members)
    day, lo, hi = window
    inside = ((table.day[:reach] == day) & (table.minute[:reach] >= lo)
              & (table.minute[:reach] <= hi))
    return int(table.free[:reach][inside].sum()) >= len(members)


def family_order(booking: Displaced) -> tuple[bool, str, str]:
    # Members of one family sit side by side, so a class hands them neighbouring slots.
    return (booking.group_id is None, booking.group_id or "", booking.booking_id)


def booking_classes(
    bookings: list[Displaced],
    tables: dict[str, ServiceSlots],
    policy: Policy,
    windows: Mapping[str, Window] | None = None,
) -> list[BookingClass]:
    """Merge interchangeable bookings, in a deterministic order.

    windows: per family with members staying put, where its displaced members may go.
    """
    windows = windows or {}
    grouped: dict[ClassKey, list[Displaced]] = defaultdict(list)
    never_late: dict[str, dict[tuple[int, bool], bool]] = defaultdict(dict)
    for booking in bookings:
        anchored = booking.group_id is not None and booking.group_id in windows
        key = class_key(booking, tables.get(booking.service), policy, anchored,
                        never_late[booking.service])
        grouped[key].append(booking)
    return [
        _class(key, sorted(grouped[key], key=family_order), tables, policy,
               windows[key.anchored_group] if key.anchored_group else None)
        for key in sorted(grouped)
    ]


def _class(
    key: ClassKey,
    members: list[Displaced],
    tables: dict[str, ServiceSlots],
    policy: Policy,
    window: Window | None,
) -> BookingClass:
    first = members[0]
    table = tables.get(first.service)
    limit = first.from_start + timedelta(days=policy.horizon_days)
    return BookingClass(
        service=first.service,
        from_minute=cost.minute_of(first.from_start),
        from_day=first.from_day.toordinal(),
        weight=key.weight,
        travel=key.travel,
        committable=key.committable,
        reach=0 if table is None else bisect_right(table.starts, limit),
        unplaced=int(cost.unplaced_cost(key.weight, first.from_day.toordinal(),
                                        key.outage_day, policy)),
        members=tuple(members),
        window=window,
    )


def class_costs(cls: BookingClass, table: ServiceSlots, policy: Policy) -> IntArray:
    """What one member of the class pays in each reachable slot (cost.placement_cost)."""
    reach = cls.reach
    return cost.ints(cost.placement_cost(
        cls.weight, cls.from_minute, cls.from_day, table.minute[:reach], table.day[:reach],
        table.committed[:reach], cls.travel, cls.committable, policy))
