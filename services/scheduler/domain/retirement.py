"""Past days leave the calendar: bookings and slots that started more than
`retain_past_days` before the centre's clock are dropped, from memory and from the store.

Without it the scheduler kept every booking it ever heard of, in memory (a calendar that
grows by a day's bookings each day, loaded whole at every restart) and in the store, with
its applicant's name, e-mail address and phone number, for ever.

The centre's clock is the latest time its booking system stamped on a calendar event
(centre, slots, bookings, outages; not a reply, an operator's act or a timeout answer,
which our own services stamp), never ahead of the wall clock (an event stamped years
ahead must not empty the calendar), so `reslot plan` on the same events drops the same.
A booking still waiting for a place stays, and so does its slot. Nothing retired can be
decided again: every plan places from its decision's clock onward.
"""

import datetime as dt

from services.scheduler.domain.state import CentreState, SlotKey


def retirement_cut(state: CentreState, now: dt.datetime, retain_days: int) -> dt.datetime | None:
    """What starts before this is retired now; None when nothing new is due (the cut moves
    by whole days, so the scan runs at most once per day of the centre's clock)."""
    if state.event_clock is None:
        return None
    clock = min(state.event_clock, now.astimezone(dt.UTC))
    day = dt.datetime.combine(clock.date(), dt.time(), dt.UTC)
    cut = day - dt.timedelta(days=retain_days)
    if state.retired_before is not None and cut <= state.retired_before:
        return None
    return cut


def retire(state: CentreState, before: dt.datetime) -> None:
    """Drop the bookings whose slot started before `before` (not those waiting), their
    decisions, offers, held messages and calls logged, and the past slots no booking holds."""
    for booking_id in [b for b, rec in state.bookings.items()
                       if rec.slot_start is not None and rec.slot_start < before
                       and b not in state.waiting]:
        state.remove_booking(booking_id)
        state.replies.drop(booking_id)
        state.replies.release(booking_id)
    calls = state.replies.calls  # logged in this batch, not stored yet: they leave too
    calls[:] = [c for c in calls if c.booking_id not in state.retired_bookings]
    for key in [k for k in state.slots if k[1] < before and not state.occupancy.get(k)]:
        _retire_slot(state, key)
    for key in [k for k, n in state.occupancy.items() if k[1] < before and not n]:
        del state.occupancy[key]  # a slot we never heard of, its bookings gone
    state.retired_before = before


def _retire_slot(state: CentreState, key: SlotKey) -> None:
    del state.slots[key]
    state.occupancy.pop(key, None)
    state.dirty_slots.discard(key)
    if state.conflicts.pop(key, None) is not None:
        state.dirty_conflicts.add(key)  # no longer in conflicts: its row is deleted
    state.retired_slots.add(key)
