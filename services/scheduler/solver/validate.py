"""A solver-independent check of a plan against every rule of CONTRACT.md.

It knows nothing of flows or CP-SAT: it reads the instance, the plan and rules.py, so a
bug in the solver shows up here as a violation instead of a wrong notification.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from services.scheduler.solver import cost, rules
from services.scheduler.solver.model import Assignment, Displaced, Instance, Plan, Policy, Slot

SlotKey = tuple[str, datetime]


def offered_slots(instance: Instance) -> dict[SlotKey, Slot]:
    # Two entries for one (service, start) add up: the places are what counts.
    merged: dict[SlotKey, Slot] = {}
    for slot in instance.slots:
        key = (slot.service, slot.start)
        known = merged.get(key)
        merged[key] = slot if known is None else known.model_copy(
            update={"free": known.free + slot.free}
        )
    return merged


def _days_by_start(instance: Instance) -> dict[datetime, date]:
    return {slot.start: slot.day for slot in instance.slots}


def plan_cost(instance: Instance, assignments: Iterable[Assignment]) -> int:
    """The contract's cost of these decisions, one booking at a time (cost.py)."""
    bookings = {booking.booking_id: booking for booking in instance.bookings}
    days = _days_by_start(instance)
    total = 0
    for assignment in assignments:
        booking = bookings.get(assignment.booking_id)
        if booking is None:
            continue
        if assignment.to_start is None:
            total += cost.booking_unplaced(booking, instance.policy)
            continue
        day = days.get(assignment.to_start, assignment.to_start.date())
        total += cost.booking_placement(booking, assignment.to_start, day, instance.policy)
    return total


def validate(instance: Instance, plan: Plan) -> list[str]:
    """Every rule the plan breaks, in words; an empty list means the plan is valid."""
    bookings = {booking.booking_id: booking for booking in instance.bookings}
    slots = offered_slots(instance)
    placed = {a.booking_id: a for a in plan.assignments if a.booking_id in bookings}
    return [
        *_coverage_violations(instance, plan),
        *_slot_violations(instance, placed.values(), bookings, slots),
        *_capacity_violations(placed.values(), bookings, slots),
        *_group_violations(instance, placed, slots),
        *_reason_violations(instance, placed, bookings),
        *_cost_violations(instance, plan),
    ]


def _coverage_violations(instance: Instance, plan: Plan) -> list[str]:
    # Every displaced booking gets exactly one decision, and nobody else gets one.
    expected = {booking.booking_id for booking in instance.bookings}
    seen = Counter(a.booking_id for a in plan.assignments)
    found = [f"booking {b} has no decision" for b in sorted(expected - seen.keys())]
    found += [f"booking {b} decided {n} times" for b, n in sorted(seen.items()) if n > 1]
    found += [f"booking {b} is not displaced here" for b in sorted(seen.keys() - expected)]
    ids = [a.booking_id for a in plan.assignments]
    if ids != sorted(ids):
        found.append("assignments are not sorted by booking_id")
    return found


def _slot_violations(
    instance: Instance,
    assignments: Iterable[Assignment],
    bookings: Mapping[str, Displaced],
    slots: Mapping[SlotKey, Slot],
) -> list[str]:
    found: list[str] = []
    starts_offered = {start for _, start in slots}
    for assignment in assignments:
        start = assignment.to_start
        if start is None:
            continue
        booking = bookings[assignment.booking_id]
        slot = slots.get((booking.service, start))
        if slot is None:
            what = "a slot of another service" if start in starts_offered else "no free slot"
            found.append(f"booking {booking.booking_id} moved to {start}: {what}")
            continue
        if not rules.respects_notice(start, instance):
            found.append(f"booking {booking.booking_id} moved to {start}: before earliest")
        if not rules.within_horizon(booking, start, instance.policy):
            found.append(f"booking {booking.booking_id} moved to {start}: beyond horizon")
    return found


def _capacity_violations(
    assignments: Iterable[Assignment],
    bookings: Mapping[str, Displaced],
    slots: Mapping[SlotKey, Slot],
) -> list[str]:
    taken = Counter(
        (bookings[a.booking_id].service, a.to_start)
        for a in assignments
        if a.to_start is not None
    )
    found: list[str] = []
    for (service, start), count in sorted(taken.items()):
        slot = slots.get((service, start))
        if slot is not None and not rules.within_capacity(count, slot):
            found.append(f"slot {service} {start}: {count} moved in, {slot.free} free")
    return found


def _group_violations(
    instance: Instance, placed: Mapping[str, Assignment], slots: Mapping[SlotKey, Slot]
) -> list[str]:
    days = _days_by_start(instance)
    found: list[str] = []
    for group_id, members in sorted(_groups(instance).items()):
        decisions = [placed[m.booking_id] for m in members if m.booking_id in placed]
        if not rules.group_all_or_nothing(a.to_start is not None for a in decisions):
            found.append(f"group {group_id} is partly unplaced")
            continue
        starts = [a.to_start for a in decisions if a.to_start is not None]
        if not starts:
            continue
        anchors = instance.anchors.get(group_id, ())
        member_days = [days.get(s, s.date()) for s in starts]
        if not rules.group_same_day([*member_days, *(day for _, day in anchors)]):
            found.append(f"group {group_id} is split across days")
        if not rules.group_within_window([*starts, *(s for s, _ in anchors)], instance.policy):
            found.append(
                f"group {group_id} starts more than {instance.policy.group_window_min} min apart"
            )
    return found


def _groups(instance: Instance) -> dict[str, list[Displaced]]:
    groups: dict[str, list[Displaced]] = defaultdict(list)
    for booking in instance.bookings:
        if booking.group_id is not None:
            groups[booking.group_id].append(booking)
    return groups


def unplaced_groups_reasons(instance: Instance) -> dict[str, str]:
    """Per group, the reason its members get if the family is unplaced."""
    first_usable = rules.earliest_usable_starts(instance)
    return {
        group_id: rules.unplaced_reason(
            True,
            all(rules.has_any_candidate(m, first_usable, instance.policy) for m in members),
        )
        for group_id, members in _groups(instance).items()
    }


def expected_reason(
    booking: Displaced, to_day: date | None, group_reasons: Mapping[str, str], policy: Policy
) -> str:
    """The reason code the contract gives this decision (to_day None = unplaced)."""
    if to_day is not None:
        return rules.moved_reason(booking, to_day, policy)
    if booking.group_id is not None:
        return group_reasons[booking.group_id]
    return rules.unplaced_reason(False, False)


def _reason_violations(
    instance: Instance, placed: Mapping[str, Assignment], bookings: Mapping[str, Displaced]
) -> list[str]:
    days = _days_by_start(instance)
    group_reasons = unplaced_groups_reasons(instance)
    found: list[str] = []
    for booking_id, assignment in sorted(placed.items()):
        start = assignment.to_start
        day = None if start is None else days.get(start, start.date())
        expected = expected_reason(bookings[booking_id], day, group_reasons, instance.policy)
        if assignment.reason != expected:
            found.append(f"booking {booking_id}: reason {assignment.reason}, expected {expected}")
    return found


def _cost_violations(instance: Instance, plan: Plan) -> list[str]:
    found: list[str] = []
    total = plan_cost(instance, plan.assignments)
    if plan.cost != total:
        found.append(f"plan cost {plan.cost} but the decisions cost {total}")
    if plan.bound > plan.cost:
        found.append(f"bound {plan.bound} above cost {plan.cost}")
    if plan.status == "optimal" and plan.bound != plan.cost:
        found.append("status optimal but bound and cost differ")
    return found
