"""One test per rescheduling rule (feasible and infeasible), per reason code, and the
validator's catches. The cost terms have theirs in test_solver_cost.py."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.scheduler.solver import rules
from services.scheduler.solver.model import (
    Assignment,
    Displaced,
    Instance,
    Plan,
    Policy,
    Slot,
)
from services.scheduler.solver.validate import plan_cost, validate

POLICY = Policy()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def slot(day: int, hour: int, minute: int = 0, free: int = 1, service: str = "short_stay") -> Slot:
    return Slot(service=service, start=at(day, hour, minute), day=date(2025, 3, day), free=free)


def booking(
    booking_id: str, day: int = 10, hour: int = 10, minute: int = 0, category: str = "standard",
    deadline: int | None = None, group: str | None = None, service: str = "short_stay",
    outage_day: int = 10, moved_before: bool = False,
) -> Displaced:
    """A booking of 10 March 2025 displaced by an outage starting that day; `deadline`, a
    day of March, sets the travel date processing_days (15) later."""
    travel = None if deadline is None else date(2025, 3, deadline) + timedelta(days=15)
    return Displaced(
        booking_id=booking_id, service=service, from_start=at(day, hour, minute),
        from_day=date(2025, 3, day), category=category, outage_day=date(2025, 3, outage_day),
        travel_date=travel, group_id=group, moved_before=moved_before,
    )


def instance(
    bookings: list[Displaced], slots: list[Slot],
    anchors: dict[str, tuple[tuple[datetime, date], ...]] | None = None,
) -> Instance:
    return Instance(centre_id="c1", earliest=at(9, 0), bookings=tuple(bookings),
                    slots=tuple(slots), anchors=anchors or {}, policy=POLICY)


# --- hard rules -------------------------------------------------------------------------


def test_same_service() -> None:
    assert rules.same_service(booking("b"), slot(10, 12))
    assert not rules.same_service(booking("b"), slot(10, 12, service="premium"))


def test_capacity() -> None:
    assert rules.has_free_place(slot(10, 12, free=1))
    assert not rules.has_free_place(slot(10, 12, free=0))
    assert rules.within_capacity(2, slot(10, 12, free=2))
    assert not rules.within_capacity(3, slot(10, 12, free=2))


def test_notice() -> None:
    centre = instance([], [])
    assert rules.respects_notice(at(9, 0), centre)
    assert not rules.respects_notice(at(8, 23, 59), centre)


def test_horizon_allows_earlier_but_not_beyond_30_days() -> None:
    displaced = booking("b", day=10)
    assert rules.within_horizon(displaced, at(10, 10) + timedelta(days=30), POLICY)
    assert rules.within_horizon(displaced, at(9, 8), POLICY)
    assert not rules.within_horizon(displaced, at(10, 10, 15) + timedelta(days=30), POLICY)


def test_candidate_needs_every_rule() -> None:
    centre = instance([booking("b")], [])
    assert rules.is_candidate(booking("b"), slot(11, 9), centre)
    assert not rules.is_candidate(booking("b"), slot(11, 9, free=0), centre)
    assert not rules.is_candidate(booking("b"), slot(11, 9, service="premium"), centre)
    assert not rules.is_candidate(booking("b"), slot(8, 9), centre)


def test_group_same_day() -> None:
    assert rules.group_same_day([date(2025, 3, 10), date(2025, 3, 10)])
    assert not rules.group_same_day([date(2025, 3, 10), date(2025, 3, 11)])


def test_group_within_window() -> None:
    assert rules.group_within_window([at(10, 9), at(10, 9, 30)], POLICY)
    assert not rules.group_within_window([at(10, 9), at(10, 9, 31)], POLICY)


def test_group_all_or_nothing() -> None:
    assert rules.group_all_or_nothing([True, True])
    assert rules.group_all_or_nothing([False, False])
    assert not rules.group_all_or_nothing([True, False])


def test_a_stale_field_is_refused_not_ignored() -> None:
    # v1's precomputed `deadline` is gone (an official's depends on the new day): a caller
    # still passing it must fail, not be planned as if it had no travel date.
    with pytest.raises(ValidationError, match="deadline"):
        Displaced.model_validate({**booking("b").model_dump(), "deadline": date(2025, 3, 12)})


# --- reasons ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "to_day", "reason"),
    [(None, 10, "same_day"), (None, 11, "next_days"), (12, 11, "deadline_kept"),
     (12, 13, "deadline_missed"), (12, 10, "same_day"), (None, 9, "earlier_day"),
     (12, 9, "earlier_day"), (8, 9, "deadline_missed")],
)
def test_moved_reason(deadline: int | None, to_day: int, reason: str) -> None:
    moved = booking("b", deadline=deadline)
    assert rules.moved_reason(moved, date(2025, 3, to_day), POLICY) == reason


@pytest.mark.parametrize(
    ("deadline", "to_day", "reason"),
    [(None, 10, "moved_again"), (None, 11, "moved_again"), (None, 9, "moved_again"),
     (12, 11, "moved_again"), (12, 13, "deadline_missed")],
)
def test_moved_again_outranks_all_but_a_missed_deadline(
    deadline: int | None, to_day: int, reason: str
) -> None:
    again = booking("b", deadline=deadline, moved_before=True)
    assert rules.moved_reason(again, date(2025, 3, to_day), POLICY) == reason


def test_an_official_misses_the_deadline_when_the_new_day_loses_the_commitment() -> None:
    # Travel 20 May: by 30 April (committed, 15 days) still in time; 2 May (30 days) late.
    official = Displaced(
        booking_id="o", service="short_stay", from_start=datetime(2025, 4, 29, 9, tzinfo=UTC),
        from_day=date(2025, 4, 29), category="official", outage_day=date(2025, 4, 29),
        travel_date=date(2025, 5, 20),
    )
    assert rules.moved_reason(official, date(2025, 4, 30), POLICY) == "deadline_kept"
    assert rules.moved_reason(official, date(2025, 5, 2), POLICY) == "deadline_missed"
    standard = official.model_copy(update={"category": "standard"})
    assert rules.moved_reason(standard, date(2025, 5, 2), POLICY) == "deadline_kept"


def test_unplaced_reason() -> None:
    assert rules.unplaced_reason(True, True) == "group_cannot_stay_together"
    assert rules.unplaced_reason(True, False) == "no_capacity_in_horizon"
    assert rules.unplaced_reason(False, True) == "no_capacity_in_horizon"


# --- the validator ----------------------------------------------------------------------

FAMILY = [booking("f1", group="g"), booking("f2", group="g")]
CENTRE = instance(
    [booking("a"), *FAMILY],
    [slot(10, 12, free=1), slot(10, 12, 15, free=2), slot(11, 12, free=2),
     slot(10, 14, free=2, service="premium")],
)


def plan(moves: Mapping[str, datetime | None], centre: Instance = CENTRE) -> Plan:
    """A plan with the given moves, reasons and cost computed right."""
    days = {s.start: s.day for s in centre.slots}
    bookings = {b.booking_id: b for b in centre.bookings}
    decisions = tuple(
        Assignment(
            booking_id=booking_id, to_start=start,
            reason=("group_cannot_stay_together" if bookings[booking_id].group_id
                    else "no_capacity_in_horizon") if start is None
            else rules.moved_reason(bookings[booking_id], days.get(start, start.date()), POLICY),
        )
        for booking_id, start in sorted(moves.items())
    )
    cost = plan_cost(centre, decisions)
    return Plan(assignments=decisions, cost=cost, bound=cost, status="optimal", solve_ms=0)


VALID = {"a": at(10, 12), "f1": at(10, 12, 15), "f2": at(10, 12, 15)}


def test_validator_accepts_a_valid_plan() -> None:
    assert validate(CENTRE, plan(VALID)) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"a": at(10, 12), "f1": at(10, 12), "f2": at(10, 12)}, "moved in, 1 free"),
        ({"a": at(10, 14)}, "another service"),
        ({"a": at(10, 13)}, "no free slot"),
        ({"f1": at(11, 12), "f2": at(10, 12, 15)}, "split across days"),
        ({"f1": None}, "partly unplaced"),
    ],
)
def test_validator_catches_rule_breaches(
    change: dict[str, datetime | None], complaint: str
) -> None:
    found = validate(CENTRE, plan({**VALID, **change}))
    assert any(complaint in v for v in found), found


def test_validator_catches_notice_and_horizon() -> None:
    early = instance([booking("a")], [slot(8, 12)])
    assert any("before earliest" in v for v in validate(early, plan({"a": at(8, 12)}, early)))
    far = instance([booking("a")], [slot(10, 12).model_copy(
        update={"start": at(10, 12) + timedelta(days=31), "day": date(2025, 4, 10)})])
    moved = {"a": at(10, 12) + timedelta(days=31)}
    assert any("beyond horizon" in v for v in validate(far, plan(moved, far)))


def test_validator_catches_group_window_and_anchors() -> None:
    apart = instance(FAMILY, [slot(10, 12, free=1), slot(10, 12, 45, free=1)])
    found = validate(apart, plan({"f1": at(10, 12), "f2": at(10, 12, 45)}, apart))
    assert any("more than 30 min apart" in v for v in found)
    anchored = instance(FAMILY, [slot(10, 12, free=2)],
                        anchors={"g": ((at(11, 12), date(2025, 3, 11)),)})
    found = validate(anchored, plan({"f1": at(10, 12), "f2": at(10, 12)}, anchored))
    assert any("split across days" in v for v in found)


def test_validator_catches_missing_and_duplicated_bookings() -> None:
    whole = plan(VALID)
    missing = whole.model_copy(update={"assignments": whole.assignments[1:]})
    assert any("no decision" in v for v in validate(CENTRE, missing))
    twice = whole.model_copy(update={"assignments": (whole.assignments[0], *whole.assignments)})
    assert any("decided 2 times" in v for v in validate(CENTRE, twice))


def test_validator_catches_wrong_cost_bound_and_reason() -> None:
    whole = plan(VALID)
    assert any("decisions cost" in v
               for v in validate(CENTRE, whole.model_copy(update={"cost": whole.cost + 1})))
    assert any("above cost" in v
               for v in validate(CENTRE, whole.model_copy(update={"bound": whole.cost + 1})))
    wrong = whole.assignments[0].model_copy(update={"reason": "next_days"})
    reworded = whole.model_copy(update={"assignments": (wrong, *whole.assignments[1:])})
    assert any("reason" in v for v in validate(CENTRE, reworded))
