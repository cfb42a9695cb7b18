"""Notice counts from the decision's clock (CONTRACT v1.1), whatever the order in which
the centre's, the bookings' and the outage's events arrive; a revision that adds a
centre gives it the outage's own services and notice."""

import datetime as dt
import itertools
from typing import Any

import pytest

from services.scheduler.domain.fold import apply
from services.scheduler.domain.routing import Route, route
from services.scheduler.domain.state import CentreState
from tests.builders import CENTRE, TZ, at, booking, centre, ev, outage, slots
from tests.unit.living import moves, run, utc

OCTOBER = dt.datetime(2025, 10, 14, 9, 0, tzinfo=TZ)
DECLARED = at(2, 16)  # 2 Dec 16:00: a day's notice reaches 3 Dec 16:00


def events() -> dict[str, Any]:
    return {
        "centre": ev("visa.centre.registered.v1", centre(), time=OCTOBER),
        "b1": ev("visa.booking.created.v1", booking("b1", at(2, 12)), time=OCTOBER),
        "b2": ev("visa.booking.created.v1", booking("b2", at(2, 13)), time=OCTOBER),
        "outage": ev("visa.outage.declared.v1", outage("o1", at(2, 12), at(2, 18)),
                     time=DECLARED),
    }


def decisions(order: tuple[str, ...], one_batch: bool) -> list[tuple[str, dt.datetime, str]]:
    state = CentreState(CENTRE)
    run(state, ev("visa.slots.published.v1", slots([at(2, 11, 30), at(3, 17)], capacity=5),
                  time=OCTOBER))
    given = events()
    if one_batch:
        out = run(state, *(given[name] for name in order))
    else:
        out = [e for name in order for e in run(state, given[name])]
    return sorted(moves(out))


def test_old_booking_events_read_after_the_outage_do_not_shorten_the_notice() -> None:
    # 2 Dec 11:30 is nearer, but only 4.5 hours before the outage was announced
    assert decisions(("centre", "outage", "b1", "b2"), one_batch=False) == [
        ("b1", at(3, 17), "next_days"), ("b2", at(3, 17), "next_days")]


@pytest.mark.parametrize("one_batch", [False, True])
def test_every_order_gives_the_same_decisions(one_batch: bool) -> None:
    expected = [("b1", at(3, 17), "next_days"), ("b2", at(3, 17), "next_days")]
    for order in itertools.permutations(("centre", "b1", "b2", "outage")):
        assert decisions(order, one_batch) == expected, order


def test_a_revision_after_the_declaration_counts_from_its_own_time() -> None:
    state = CentreState(CENTRE)
    run(state, ev("visa.slots.published.v1", slots([at(3, 17), at(4, 9)], capacity=5)),
        events()["centre"], events()["outage"])
    # the window now covers b1 (announced 3 Dec 08:00: a day's notice reaches 4 Dec 08:00)
    out = run(state, ev("visa.booking.created.v1", booking("b1", at(3, 12)), time=OCTOBER),
              ev("visa.outage.revised.v1", {"outage_id": "o1", "start": at(2, 12),
                                            "end": at(3, 18)}, subject=CENTRE, time=at(3, 8)))
    assert moves(out) == [("b1", at(4, 9), "next_days")]


def test_a_revision_adding_a_centre_gives_it_the_outage_as_declared() -> None:
    routes: dict[str, Route] = {}
    declared = ev("visa.outage.declared.v1",
                  outage("o1", at(3, 15), at(3, 19), centre_ids=("a",),
                         services=["short_stay"], notice_min=120), subject="", time=DECLARED)
    route(routes, declared)
    revised = ev("visa.outage.revised.v1",
                 {"outage_id": "o1", "start": at(3, 14), "end": at(3, 19),
                  "centre_ids": ["a", "b"]}, subject="", time=at(2, 18))
    copies = route(routes, revised)
    assert [(c.type, c.subject) for c in copies] == [
        ("visa.outage.declared.v1", "b"), ("visa.outage.revised.v1", "a"),
        ("visa.outage.revised.v1", "b")]
    state = CentreState("b")
    for copy in copies:
        if copy.subject == "b":
            apply(state, copy)
    o = state.outages["o1"]
    assert (o.services, o.notice_min, o.active) == (("short_stay",), 120, True)
    assert (o.start, o.end) == (utc(at(3, 14)), utc(at(3, 19)))
    assert (o.announced, o.revised) == (utc(DECLARED), utc(at(2, 18)))
