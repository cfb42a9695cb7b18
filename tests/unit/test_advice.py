"""Capacity advice (CONTRACT v1.1): exactly the waiting, spread over the earliest dates at
most a share of the usual daily capacity each, families on one date, never empty while
someone waits, a new advice only when the waiting list changes."""

import datetime as dt
from collections import Counter

from services.scheduler.domain.state import CentreState
from services.scheduler.solver.advice import AdviceCalendar, spread_advice, usual_daily_capacity
from tests.builders import CENTRE, TZ, at, booking, centre, ev, outage, slots
from tests.unit.living import by_type, moves, published, run

MON = dt.date(2025, 12, 1)
WEEKDAYS = frozenset(range(5))


def week(usual: int = 8, **kw: object) -> AdviceCalendar:
    return AdviceCalendar(first_day=MON, usual={"short_stay": usual},
                          weekdays={"short_stay": WEEKDAYS}, share=0.25, **kw)  # type: ignore[arg-type]


def test_the_waiting_are_spread_at_most_a_quarter_of_a_usual_day_per_date() -> None:
    advice = spread_advice([Counter(short_stay=1)] * 7, week(usual=8))  # 2 per date
    assert advice == [(MON, "short_stay", 2), (dt.date(2025, 12, 2), "short_stay", 2),
                      (dt.date(2025, 12, 3), "short_stay", 2),
                      (dt.date(2025, 12, 4), "short_stay", 1)]


def test_closed_dates_and_weekends_are_skipped() -> None:
    closed = {"short_stay": frozenset({MON})}
    advice = spread_advice([Counter(short_stay=1)] * 9, week(usual=8, closed=closed))
    days = [day for day, _, _ in advice]
    assert MON not in days
    assert dt.date(2025, 12, 6) not in days  # a Saturday
    assert dt.date(2025, 12, 8) in days


def test_a_family_is_never_split_across_dates() -> None:
    advice = spread_advice([Counter(short_stay=1), Counter(short_stay=2)], week(usual=8))
    assert advice == [(MON, "short_stay", 1), (dt.date(2025, 12, 2), "short_stay", 2)]
    big = spread_advice([Counter(short_stay=3)], week(usual=8))  # more than a day's share
    assert big == [(MON, "short_stay", 3)]


def test_a_family_of_two_services_open_on_different_weekdays_gets_one_date() -> None:
    calendar = AdviceCalendar(MON, {"a": 4, "b": 4},
                              {"a": frozenset({0}), "b": frozenset({1})})
    advice = spread_advice([Counter(a=1, b=1)], calendar)
    assert advice == [(MON, "a", 1), (MON, "b", 1)]


def test_never_empty_while_someone_waits_even_without_any_slot() -> None:
    advice = spread_advice([Counter(premium=1)], AdviceCalendar(MON, {}, {}))
    assert advice == [(MON, "premium", 1)]


def test_usual_daily_capacity_is_the_median_of_open_days() -> None:
    assert usual_daily_capacity({MON: 10, dt.date(2025, 12, 2): 0,
                                 dt.date(2025, 12, 3): 40, dt.date(2025, 12, 4): 12}) == 12
    assert usual_daily_capacity({}) == 0


def full_centre() -> CentreState:
    """Ten bookings in an outage, every other place taken: ten wait."""
    state = CentreState(CENTRE)
    days = [at(d, h) for d in (3, 4, 7, 8) for h in (9, 10, 11, 12)]  # Algiers: Sun-Thu
    run(state, ev("visa.centre.registered.v1", centre()),
        ev("visa.slots.published.v1", slots(days, capacity=2)),
        *(ev("visa.booking.created.v1", booking(f"x{i}-{n}", t))
          for i, t in enumerate(days) for n in range(2)))
    run(state, *(ev("visa.booking.created.v1", booking(f"w{i}", at(3, 9 + i % 4)))
                 for i in range(10)))
    return state


def test_advice_covers_exactly_the_waiting_and_is_new_only_when_they_change() -> None:
    state = full_centre()
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 8), at(3, 18))))
    (advice,) = [a.data for a in by_type(out, "visa.capacity.advice")]
    assert len(state.waiting) == 10 + 8  # the outage also displaced the 8 booked that day
    assert sum(x.places for x in advice.extra) == 18
    assert all(x.places <= 4 for x in advice.extra)  # a quarter of 16 places a day
    assert min(x.date for x in advice.extra) == dt.date(2025, 11, 27)  # a day after 25 Nov
    unchanged = run(state, published([at(9, 9)], capacity=2, service="long_stay"))
    assert by_type(unchanged, "visa.capacity.advice") == []
    placed = run(state, published([at(9, 9)], capacity=2, eid="two"))
    assert len(moves(placed)) == 2
    (again,) = [a.data for a in by_type(placed, "visa.capacity.advice")]
    assert again.advice_id != advice.advice_id
    assert sum(x.places for x in again.extra) == 16


def test_slots_published_as_advised_place_the_waiting() -> None:
    state = full_centre()
    out = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 8), at(3, 18))))
    (advice,) = [a.data for a in by_type(out, "visa.capacity.advice")]
    followed = [published([dt.datetime.combine(x.date, dt.time(16, 0), TZ)],
                          capacity=x.places, eid=f"advised-{x.date}")
                for x in advice.extra]
    placed = run(state, *followed)
    assert len(moves(placed)) == 18
    assert state.waiting == set()
