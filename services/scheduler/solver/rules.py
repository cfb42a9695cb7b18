"""The rescheduling rules of CONTRACT.md, one small function each.

Hard rules say whether a move is allowed, reasons what the applicant is told. How much a
decision hurts is cost.py's, the one place that prices it for the validator and solver.
"""

from collections.abc import Iterable
from datetime import date, datetime

from schemas.reasons import MovedReason, UnplacedReason
from services.scheduler.domain import hard_rules as hard
from services.scheduler.solver import cost
from services.scheduler.solver.model import Displaced, Instance, Policy, Slot

# --- hard rules -------------------------------------------------------------------------


def same_service(booking: Displaced, slot: Slot) -> bool:
    # A booking only moves to a slot of the service it booked (same centre by construction).
    return booking.service == slot.service


def has_free_place(slot: Slot) -> bool:
    # A slot with no place left cannot take anyone.
    return slot.free > 0


def within_capacity(placed: int, slot: Slot) -> bool:
    # The bookings moved into a slot never exceed the places it had left.
    return hard.room_for(placed, slot.free)


def respects_notice(start: datetime, instance: Instance) -> bool:
    # The applicant must hear of the new time at least notice_min before it.
    return hard.notice_kept(start, instance.earliest)


def within_horizon(booking: Displaced, start: datetime, policy: Policy) -> bool:
    # Never more than horizon_days after the original slot; moving earlier is allowed.
    return hard.within_horizon(start, booking.from_start, policy.horizon_days)


def is_candidate(booking: Displaced, slot: Slot, instance: Instance) -> bool:
    # A slot the booking could take on its own, before families and competition count.
    return (
        same_service(booking, slot)
        and has_free_place(slot)
        and respects_notice(slot.start, instance)
        and within_horizon(booking, slot.start, instance.policy)
    )


def group_same_day(days: Iterable[date]) -> bool:
    # A family is seen on one day: members placed, plus members who stay put.
    return hard.one_day(days)


def group_within_window(starts: Iterable[datetime], policy: Policy) -> bool:
    # A family's appointments all start within group_window_min of each other.
    return hard.within_window(starts, policy.group_window_min)


def group_all_or_nothing(placed: Iterable[bool]) -> bool:
    # Never split a family: either every displaced member moves or none does.
    return len(set(placed)) <= 1


# --- reasons ----------------------------------------------------------------------------


def moved_reason(booking: Displaced, to_day: date, policy: Policy) -> MovedReason:
    """What the applicant is told about the new slot, the first that applies of:

    1. deadline_missed: the new day is past the travel deadline (for that day): the one
       message that asks the applicant to act, so it outranks everything;
    2. moved_again: the booking's current slot was already a move of ours: the earlier
       message no longer stands, which matters more than where the new slot lies;
    3. same_day: the original local day;
    4. earlier_day: a day before the original one (the applicant must come sooner);
    5. deadline_kept: a later day, still before the travel deadline;
    6. next_days: a later day, no travel date known.
    """
    deadline = cost.booking_deadline(booking, to_day, policy)
    if deadline is not None and to_day > deadline:
        return "deadline_missed"
    if booking.moved_before:
        return "moved_again"
    if to_day == booking.from_day:
        return "same_day"
    if to_day < booking.from_day:
        return "earlier_day"
    if deadline is not None:
        return "deadline_kept"
    return "next_days"


def unplaced_reason(in_group: bool, every_member_had_a_candidate: bool) -> UnplacedReason:
    # A family that could each have been placed alone was unplaced to stay together.
    if in_group and every_member_had_a_candidate:
        return "group_cannot_stay_together"
    return "no_capacity_in_horizon"


def earliest_usable_starts(instance: Instance) -> dict[str, datetime]:
    # Per service, the first start anyone could take: it decides whether a booking had any
    # candidate at all, without scanning every slot for every booking.
    first: dict[str, datetime] = {}
    for slot in instance.slots:
        if has_free_place(slot) and respects_notice(slot.start, instance):
            known = first.get(slot.service)
            first[slot.service] = slot.start if known is None else min(known, slot.start)
    return first


def has_any_candidate(
    booking: Displaced, first_usable: dict[str, datetime], policy: Policy
) -> bool:
    # Same as "some slot is_candidate": the earliest usable slot of its service is in reach.
    start = first_usable.get(booking.service)
    return start is not None and within_horizon(booking, start, policy)
