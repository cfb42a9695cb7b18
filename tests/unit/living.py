"""Helpers for the living-calendar unit tests: batches through process() and settle()."""

import datetime as dt
from typing import Any

from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.process import process, settle
from services.scheduler.domain.state import CentreState
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots

CONFIG = planning_config(Settings())


def run(state: CentreState, *events: Any) -> list[Any]:
    """The events as one input batch at one centre."""
    out = []
    for e in events:
        out += process(state, e, CONFIG)[0]
    return out + settle(state, CONFIG)[0]


def by_type(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type.startswith(kind)]


def moves(events: list[Any]) -> list[tuple[str, dt.datetime, str]]:
    return [(e.data.booking_id, e.data.to_start, e.data.reason)
            for e in by_type(events, "visa.appointment.rescheduled")]


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)


def waiting_calendar(*extra: Any) -> CentreState:
    """b1 at 3 Dec 16:00 waits: the outage covers it and the only other slot is full."""
    state = CentreState(CENTRE)
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots([at(3, 16), at(4, 9)], capacity=1)),
        ev("visa.booking.created.v1", booking("b1", at(3, 16))),
        ev("visa.booking.created.v1", booking("full", at(4, 9))), *extra)
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19))))
    assert by_type(out, "visa.appointment.unplaced")
    return state


def published(starts: list[dt.datetime], capacity: int = 1, eid: str | None = None,
              service: str = "short_stay", time: dt.datetime | None = None) -> Any:
    kw: dict[str, Any] = {"eid": eid} if eid else {}
    if time is not None:
        kw["time"] = time
    return ev("visa.slots.published.v1", slots(starts, capacity=capacity, service=service), **kw)
