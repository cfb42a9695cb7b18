"""From a centre's state to a solver instance: the data preparation lives here, not in the model."""

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.scheduler.domain.state import CentreState
from services.scheduler.solver.model import Displaced, Instance, Policy, Slot


def build_instance(
    state: CentreState,
    outage_id: str,
    booking_ids: Sequence[str],
    now: dt.datetime,
    policy: Policy,
    default_slot_min: int,
) -> Instance:
    """The instance for the bookings `outage_id` displaces, as of `now` (the trigger's time)."""
    assert state.info is not None, "decisions wait for the centre's registration"
    tz = ZoneInfo(state.info.timezone)
    outage = state.outages[outage_id]
    earliest = now.astimezone(dt.UTC) + dt.timedelta(minutes=outage.notice_min)
    outage_day = outage.start.astimezone(tz).date()
    displaced = [_displaced(state, b, tz, outage_day) for b in sorted(booking_ids)]
    services = {b.service for b in displaced}
    latest = max(b.from_start for b in displaced) + dt.timedelta(days=policy.horizon_days)
    return Instance(
        centre_id=state.centre_id,
        earliest=earliest,
        bookings=tuple(displaced),
        slots=tuple(_usable_slots(state, services, earliest, latest, tz, default_slot_min)),
        anchors=_anchors(state, set(booking_ids), tz, default_slot_min),
        policy=policy,
    )


def _displaced(
    state: CentreState, booking_id: str, tz: ZoneInfo, outage_day: dt.date
) -> Displaced:
    booking = state.bookings[booking_id]
    assert booking.slot_start is not None
    decided = state.decisions.get(booking_id)
    return Displaced(
        booking_id=booking_id,
        service=booking.service,
        from_start=booking.slot_start,
        from_day=booking.slot_start.astimezone(tz).date(),
        category=booking.category,
        outage_day=outage_day,
        travel_date=booking.travel_date,
        group_id=booking.group_id,
        moved_before=decided is not None and decided.kind == "moved",
    )


def _usable_slots(
    state: CentreState,
    services: set[str],
    earliest: dt.datetime,
    latest: dt.datetime,
    tz: ZoneInfo,
    default_slot_min: int,
) -> list[Slot]:
    """Slots of the services in the time frame, clear of every outage; full ones too (free =
    0), so capacity advice can name the days where an extra place would help."""
    active = [o for o in state.outages.values() if o.active]
    usable = []
    for (service, start), slot in sorted(state.slots.items()):
        if service not in services or not earliest <= start <= latest:
            continue
        free = slot.capacity - state.occupancy.get((service, start), 0)
        end = start + dt.timedelta(minutes=slot.duration_min or default_slot_min)
        if not any(o.covers(service, start, end) for o in active):
            usable.append(Slot(service=service, start=start, day=start.astimezone(tz).date(),
                               free=free))
    return usable


def _anchors(
    state: CentreState, displaced: set[str], tz: ZoneInfo, default_slot_min: int
) -> dict[str, tuple[tuple[dt.datetime, dt.date], ...]]:
    """Members of the displaced families who keep their slot: the others must join them."""
    groups = {state.bookings[b].group_id for b in displaced} - {None}
    if not groups:
        return {}
    active = [o for o in state.outages.values() if o.active]
    anchors: dict[str, list[tuple[dt.datetime, dt.date]]] = {}
    for booking_id, booking in sorted(state.bookings.items()):
        if booking_id in displaced or booking.group_id not in groups or not booking.active:
            continue
        assert booking.slot_start is not None
        assert booking.group_id is not None
        end = state.booking_end(booking, default_slot_min)
        if any(o.covers(booking.service, booking.slot_start, end) for o in active):
            continue  # itself waiting in an outage (left unplaced): no anchor
        start = booking.slot_start
        anchors.setdefault(booking.group_id, []).append((start, start.astimezone(tz).date()))
    return {g: tuple(sorted(v)) for g, v in anchors.items()}
