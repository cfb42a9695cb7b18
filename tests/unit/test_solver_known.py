"""Small centres whose best plan is known by hand."""

from datetime import date

from services.scheduler.solver import SolveParams, greedy, solve, validate
from services.scheduler.solver.model import Instance, Plan
from tests.unit.test_rules import at, booking, instance, slot

PARAMS = SolveParams(time_limit_s=1.0)


def solved(centre: Instance) -> Plan:
    plan = solve(centre, PARAMS)
    assert validate(centre, plan) == []
    return plan


def moved_to(plan: Plan) -> dict[str, object]:
    return {a.booking_id: a.to_start for a in plan.assignments}


def test_medical_gets_the_only_same_day_slot() -> None:
    centre = instance(
        [booking("s", category="standard"), booking("m", category="medical")],
        [slot(10, 14), slot(11, 10)],
    )
    plan = solved(centre)
    assert moved_to(plan) == {"m": at(10, 14), "s": at(11, 10)}
    assert plan.cost == 3 * 240 + (1440 + 240)
    assert (plan.status, plan.bound) == ("optimal", plan.cost)


def test_family_is_kept_together_on_a_later_day() -> None:
    # Alone, the two members would take 12:00 and 14:00 the same day; together they must
    # go the next day, and the single booking takes 12:00.
    centre = instance(
        [booking("f1", group="g"), booking("f2", group="g"), booking("s")],
        [slot(10, 12), slot(10, 14), slot(11, 10, free=2)],
    )
    plan = solved(centre)
    assert moved_to(plan) == {"f1": at(11, 10), "f2": at(11, 10), "s": at(10, 12)}
    assert plan.cost == 2 * (1440 + 240) + 120
    assert (plan.status, plan.bound) == ("optimal", plan.cost)


def test_member_joins_the_family_member_who_stays() -> None:
    # 11:15 is cheaper for the displaced member, but 12:00's member stays: 12:30 it is.
    centre = instance(
        [booking("f1", hour=11, minute=45, group="g")],
        [slot(10, 11, 15), slot(10, 12, 30)],
        anchors={"g": ((at(10, 12), date(2025, 3, 10)),)},
    )
    plan = solved(centre)
    assert moved_to(plan) == {"f1": at(10, 12, 30)}
    assert plan.status == "optimal"


def test_deadline_pulls_the_move_earlier() -> None:
    centre = instance([booking("b", deadline=10)], [slot(9, 10), slot(11, 10)])
    plan = solved(centre)
    assert moved_to(plan) == {"b": at(9, 10)}
    assert plan.assignments[0].reason == "deadline_kept"


def test_no_room_leaves_the_booking_unplaced() -> None:
    centre = instance([booking("a"), booking("b", category="official")], [slot(11, 10)])
    plan = solved(centre)
    assert moved_to(plan) == {"a": None, "b": at(11, 10)}
    assert plan.assignments[0].reason == "no_capacity_in_horizon"


def test_family_that_cannot_stay_together_is_unplaced_together() -> None:
    centre = instance(
        [booking("f1", group="g"), booking("f2", group="g")], [slot(10, 12), slot(11, 12)]
    )
    plan = solved(centre)
    assert moved_to(plan) == {"f1": None, "f2": None}
    assert {a.reason for a in plan.assignments} == {"group_cannot_stay_together"}
    assert plan.status == "optimal"


def test_members_staying_on_two_days_leave_the_family_unplaced() -> None:
    centre = instance(
        [booking("f1", group="g")], [slot(10, 12)],
        anchors={"g": ((at(10, 12), date(2025, 3, 10)), (at(11, 12), date(2025, 3, 11)))},
    )
    plan = solved(centre)
    assert moved_to(plan) == {"f1": None}


def test_greedy_baseline_is_valid_and_never_better() -> None:
    centre = instance(
        [booking("f1", group="g"), booking("f2", group="g"), booking("s", category="medical")],
        [slot(10, 12), slot(10, 14), slot(11, 10, free=2), slot(10, 12, 15)],
    )
    baseline = greedy(centre)
    assert validate(centre, baseline.model_copy(update={"bound": 0})) == []
    assert baseline.cost >= solved(centre).cost


def test_nothing_displaced_is_an_empty_optimal_plan() -> None:
    plan = solved(instance([], [slot(10, 12)]))
    assert (plan.assignments, plan.cost, plan.bound, plan.status) == ((), 0, 0, "optimal")


def test_service_without_slots_leaves_its_bookings_unplaced() -> None:
    centre = instance([booking("p", service="premium"), booking("s")], [slot(10, 12)])
    plan = solved(centre)
    assert moved_to(plan) == {"p": None, "s": at(10, 12)}
    assert plan.status == "optimal"
