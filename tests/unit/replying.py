"""Helpers for the reply and operations unit tests: a centre whose outage made offers, and
replies and operators' events built like the web front builds them."""

import datetime as dt
from typing import Any

from schemas.envelope import CloudEvent
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.process import PlanningConfig, process, settle
from services.scheduler.domain.state import CentreState
from tests.builders import ANNOUNCED, CENTRE, at, booking, centre, ev, outage, slots

CONFIG = planning_config(Settings())
REPLY_TIME = ANNOUNCED + dt.timedelta(hours=2)


def run(state: CentreState, *events: Any, config: PlanningConfig = CONFIG) -> list[Any]:
    """The events as one input batch at one centre."""
    out = []
    for e in events:
        out += process(state, e, config)[0]
    return out + settle(state, config)[0]


def of_type(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def offered(*bookings: tuple[str, dt.datetime], free: list[dt.datetime] | None = None,
            capacity: int = 1, config: PlanningConfig = CONFIG,
            extra: tuple[Any, ...] = ()) -> tuple[CentreState, list[Any]]:
    """Bookings on 3 Dec afternoon, an outage over it, one place in each of `free` (by
    default 4 Dec 9:00 and 10:00): each booking moved there, an offer each."""
    free = free if free is not None else [at(4, 9), at(4, 10)]
    state = CentreState(CENTRE)
    starts = sorted({s for _, s in bookings} | {at(3, 16)})
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots(starts, capacity=max(2, len(bookings))), eid="day3"),
        ev("visa.slots.published.v1", slots(free, capacity=capacity), eid="free"),
        *[ev("visa.booking.created.v1", booking(b, s)) for b, s in bookings], *extra,
        config=config)
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 13), at(3, 19))),
              config=config)
    return state, out


def offer_of(state: CentreState, booking_id: str) -> str:
    return state.replies.offers[booking_id].offer_id


def reply(kind: str, state: CentreState, booking_id: str, eid: str,
          time: dt.datetime = REPLY_TIME, offer_id: str | None = None,
          **data: Any) -> CloudEvent[Any]:
    """visa.offer.<kind>.v1 for the booking's current offer (or `offer_id`)."""
    body = {"offer_id": offer_id or offer_of(state, booking_id), "booking_id": booking_id,
            "centre_id": CENTRE, "channel": "web", **data}
    return ev(f"visa.offer.{kind}.v1", body, eid=eid, time=time)


def ops(kind: str, eid: str, time: dt.datetime = REPLY_TIME, **data: Any) -> CloudEvent[Any]:
    return ev(f"visa.{kind}.v1", {"centre_id": CENTRE, "by": "ops@capago", **data}, eid=eid,
              time=time)


def outcome(state: CentreState, event_id: str) -> tuple[str, str, str]:
    """(verdict, reason, subject) of the outcome recorded for `event_id` in this batch."""
    found = [(o.verdict, o.reason, o.subject) for o in state.replies.outcomes
             if o.event_id == event_id]
    assert len(found) == 1, found
    return found[0]


def clear(state: CentreState) -> None:
    """As after the batch was stored."""
    state.clear_dirty()
