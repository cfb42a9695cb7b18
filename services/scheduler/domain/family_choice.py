"""A person's choice of slot (an applicant's change, an operator's pin) judged on the
centre's state with choice.py's rules, for the booking's whole family.

The family is every active booking of the centre that shares the booking's group id (the
booking alone without one); all of them move into the chosen slot, so none stays behind
as an anchor. Each member's horizon counts from the slot it holds now; the notice is the
notice of the outage the booking's decision answered, counted from that outage's clock at
the time of the reply (CONTRACT v1.1: the decision's clock). Capacity counts every active
booking, the family's own members in the slot counting as free for them. The web front
shows alternatives by the same rules (read from the store), and the scheduler decides.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from services.scheduler.domain.choice import Closure, Movers, SlotView, refusal
from services.scheduler.domain.solving import PlanningConfig
from services.scheduler.domain.state import CentreState


def family(state: CentreState, booking_id: str) -> list[str]:
    """The active bookings that move with `booking_id`, in id order (itself included)."""
    group = state.bookings[booking_id].group_id
    if group is None:
        return [booking_id]
    return sorted(b for b, rec in state.bookings.items() if rec.group_id == group and rec.active)


def why_not(state: CentreState, booking_id: str, start: dt.datetime, time: dt.datetime,
            config: PlanningConfig) -> str | None:
    """Why `booking_id`'s family may not move into the slot starting at `start` at `time`,
    in words; None when it may. The booking has a decision (it was displaced)."""
    assert state.info is not None
    booking = state.bookings[booking_id]
    decision = state.decisions[booking_id]
    outage = state.outages[decision.outage_id]
    slot = state.slots.get((booking.service, start.astimezone(dt.UTC)))
    if slot is None or slot.capacity == 0:
        return "no such slot is open for this service"
    members = family(state, booking_id)
    starts = tuple(s for s in (state.bookings[m].slot_start for m in members) if s is not None)
    waiting = booking_id in state.waiting
    movers = Movers(
        service=booking.service, starts=starts, original=decision.original, anchors=(),
        timezone=ZoneInfo(state.info.timezone), notice_min=outage.notice_min,
        horizon_days=config.waiting_horizon_days if waiting else config.policy.horizon_days,
        window_min=config.policy.group_window_min)
    key = (booking.service, start.astimezone(dt.UTC))
    sitting = sum(1 for s in starts if s == key[1])
    view = SlotView(key[1], key[1] + dt.timedelta(
        minutes=slot.duration_min or config.default_slot_min),
        slot.capacity - state.occupancy.get(key, 0) + sitting)
    closures = [Closure(o.start, o.end, o.services) for o in state.outages.values() if o.active]
    return refusal(movers, view, closures, outage.clock(time))
