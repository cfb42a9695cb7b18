"""Which bookings an outage displaces, and which slots hold more bookings than they may."""

from services.scheduler.domain.fold import Touched
from services.scheduler.domain.state import CentreState, SlotKey


def covering_outage(state: CentreState, booking_id: str, default_slot_min: int) -> str | None:
    """The active outage whose window overlaps the booking's slot (earliest first), if any."""
    booking = state.bookings[booking_id]
    if not booking.active:
        return None
    assert booking.slot_start is not None
    end = state.booking_end(booking, default_slot_min)
    covering = [
        (outage.start, outage_id)
        for outage_id, outage in state.outages.items()
        if outage.covers(booking.service, booking.slot_start, end)
    ]
    return min(covering)[1] if covering else None


def needs_decision(state: CentreState, booking_id: str) -> bool:
    """False when the booking was already left unplaced in the very slot it still holds."""
    decision = state.decisions.get(booking_id)
    booking = state.bookings[booking_id]
    return not (
        decision is not None
        and decision.kind == "unplaced"
        and decision.at_start == booking.slot_start
    )


def displaced(state: CentreState, touched: Touched, default_slot_min: int) -> dict[str, list[str]]:
    """Bookings needing a decision now, grouped by the outage that displaces them.

    Decisions wait until the centre is registered: its time zone defines days and the
    applicant's message. Family members go with the outage of their first member, so a
    family is always planned as one.
    """
    if state.info is None or not state.outages:
        return {}
    candidates = state.bookings.keys() if touched.everything else touched.bookings
    by_booking: dict[str, str] = {}
    for booking_id in sorted(candidates):
        outage_id = covering_outage(state, booking_id, default_slot_min)
        if outage_id is not None and needs_decision(state, booking_id):
            by_booking[booking_id] = outage_id
    family_outage: dict[str, str] = {}
    for booking_id, outage_id in by_booking.items():
        group = state.bookings[booking_id].group_id
        if group is not None:
            family_outage.setdefault(group, outage_id)
    result: dict[str, list[str]] = {}
    for booking_id, outage_id in by_booking.items():
        group = state.bookings[booking_id].group_id
        chosen = family_outage[group] if group is not None else outage_id
        result.setdefault(chosen, []).append(booking_id)
    return dict(sorted(result.items(), key=lambda kv: (state.outages[kv[0]].start, kv[0])))


def conflicts(state: CentreState, slots: set[SlotKey]) -> list[tuple[SlotKey, int, int]]:
    """Slots now holding more active bookings than their capacity, each reported once."""
    found = []
    for key in sorted(slots):
        slot = state.slots.get(key)
        booked = state.occupancy.get(key, 0)
        if slot is not None and booked > slot.capacity:
            if state.conflicts.get(key) != (slot.capacity, booked):
                state.conflicts[key] = (slot.capacity, booked)
                state.dirty_conflicts.add(key)
                found.append((key, slot.capacity, booked))
        elif key in state.conflicts:
            del state.conflicts[key]  # resolved; a new overbooking will be reported again
            state.dirty_conflicts.add(key)
    return found
