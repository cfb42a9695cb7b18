"""Restore (CONTRACT v1.1): when an outage is lifted or shrinks, a displaced booking goes
back to its original slot, if that slot stands again, has room and starts at least
`restore_notice_min` after the event that reopened it.

Waiting bookings come first (they hold no other place), then the moved ones, each by its
original start; a family goes back whole or not at all.
"""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from services.scheduler.domain.state import CentreState, SlotKey


@dataclass(frozen=True)
class Restore:
    booking_id: str
    outage_id: str  # the outage its decision answered
    original: dt.datetime


def restorable(state: CentreState, since: dt.datetime, notice_min: int,
               default_slot_min: int) -> list[Restore]:
    """The bookings that go back now, in the order they take their places."""
    units = _units(state)
    earliest = since + dt.timedelta(minutes=notice_min)
    ordered = sorted(units.values(), key=lambda members: (
        not all(b in state.waiting for b in members),
        min(state.decisions[b].original for b in members), members[0]))
    chosen: list[Restore] = []
    taken: Counter[SlotKey] = Counter()
    for members in ordered:
        if not all(_stands_again(state, b, earliest, default_slot_min) for b in members):
            continue
        need: Counter[SlotKey] = Counter()
        for b in members:  # a waiting booking holds its place already: it needs none
            need[(state.bookings[b].service, state.decisions[b].original)] += (
                0 if b in state.waiting else 1)
        if all(_room(state, key) - taken[key] >= n for key, n in need.items()):
            taken.update(need)
            chosen += [Restore(b, state.decisions[b].outage_id, state.decisions[b].original)
                       for b in members]
    return chosen


def _units(state: CentreState) -> dict[str, list[str]]:
    """Bookings with a standing decision of an outage (moved or waiting), as families."""
    units: dict[str, list[str]] = defaultdict(list)
    for booking_id, decision in sorted(state.decisions.items()):
        booking = state.bookings[booking_id]
        if decision.kind == "restored" or not booking.active:
            continue
        if not decision.holds(booking.slot_start):
            continue  # the booking system moved it since: not ours to move back
        key = f"g:{booking.group_id}" if booking.group_id else f"b:{booking_id}"
        units[key].append(booking_id)
    return units


def _stands_again(state: CentreState, booking_id: str, earliest: dt.datetime,
                  default_slot_min: int) -> bool:
    """The original slot exists, no active outage covers it, and it is far enough off."""
    booking = state.bookings[booking_id]
    original = state.decisions[booking_id].original
    slot = state.slots.get((booking.service, original))
    if slot is None or original < earliest:
        return False
    end = original + dt.timedelta(minutes=slot.duration_min or default_slot_min)
    return not any(o.covers(booking.service, original, end) for o in state.outages.values())


def _room(state: CentreState, key: SlotKey) -> int:
    # Waiting bookings are still counted in their original slot: room is what is left.
    return state.slots[key].capacity - state.occupancy.get(key, 0)
