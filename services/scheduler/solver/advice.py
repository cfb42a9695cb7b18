"""Capacity advice: how many extra places, on which day and service, would seat everyone.

Each unplaced booking is counted once, on its cheapest day that has a slot it could
take if the slot had room (notice and horizon respected, capacity ignored); a family is
counted together on one day (the day of the members who stay put, if any).
"""

from collections import Counter, defaultdict
from datetime import date, datetime

from services.scheduler.solver import rules
from services.scheduler.solver.cost import booking_placement
from services.scheduler.solver.model import Displaced, Instance, Plan

Starts = dict[str, list[tuple[datetime, date]]]


def capacity_advice(instance: Instance, plan: Plan) -> list[tuple[date, str, int]]:
    """(local day, service, extra places), sorted."""
    unplaced = {a.booking_id for a in plan.assignments if a.to_start is None}
    starts = _starts_by_service(instance)
    extra: Counter[tuple[date, str]] = Counter()
    groups: dict[str, list[Displaced]] = defaultdict(list)
    known: dict[tuple[object, ...], date | None] = {}  # bookings alike have the same day
    for booking in instance.bookings:
        if booking.booking_id not in unplaced:
            continue
        if booking.group_id is None:
            alike = (booking.service, booking.from_start, booking.from_day,
                     booking.category, booking.travel_date)
            if alike not in known:
                known[alike] = _cheapest_day([booking], starts, instance, None)
            day = known[alike]
            if day is not None:
                extra[(day, booking.service)] += 1
        else:
            groups[booking.group_id].append(booking)
    for group_id, members in sorted(groups.items()):
        anchors = instance.anchors.get(group_id, ())
        only = {day for _, day in anchors}
        day = _cheapest_day(members, starts, instance, only or None)
        if day is not None:
            extra.update((day, m.service) for m in members)
    return sorted((day, service, count) for (day, service), count in extra.items())


def _starts_by_service(instance: Instance) -> Starts:
    # Every slot start after the notice, whatever its places: we ask for more of them.
    starts: Starts = defaultdict(list)
    for slot in instance.slots:
        if rules.respects_notice(slot.start, instance):
            starts[slot.service].append((slot.start, slot.day))
    return starts


def _cheapest_day(
    members: list[Displaced], starts: Starts, instance: Instance, only: set[date] | None
) -> date | None:
    # The day where the members together would cost least; every member needs a start.
    totals: dict[date, int] | None = None
    for member in members:
        best: dict[date, int] = {}
        for start, day in starts.get(member.service, []):
            if only is not None and day not in only:
                continue
            if rules.within_horizon(member, start, instance.policy):
                cost = booking_placement(member, start, day, instance.policy)
                best[day] = min(cost, best.get(day, cost))
        totals = best if totals is None else {
            d: c + best[d] for d, c in totals.items() if d in best
        }
    if not totals:
        return None
    return min(totals, key=lambda d: (totals[d], d))
