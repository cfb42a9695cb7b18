"""Small centres whose best plan is known by hand."""

from datetime import UTC, date, datetime

from services.scheduler.solver import SolveParams, greedy, solve, validate
from services.scheduler.solver.model import Displaced, Instance, Plan, Slot
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
    assert plan.assignments[0].reason == "earlier_day"


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


# --- v1.1: fairness under shortage ------------------------------------------------------


def test_fairness_the_earlier_original_keeps_the_only_place() -> None:
    # v1 gave the place to "late" (its move is shorter); v1.1 to "early", whose slot was
    # nearer the outage's start. The infeasible half: "late" is left unplaced.
    centre = instance([booking("early", day=10), booking("late", day=11)], [slot(12, 10)])
    plan = solved(centre)
    assert moved_to(plan) == {"early": at(12, 10), "late": None}
    assert plan.cost == (2 * 1440 + 240) + 100_000 + 2880 * 29
    assert (plan.status, plan.bound) == ("optimal", plan.cost)
    assert greedy(centre).cost >= plan.cost


def test_fairness_with_room_for_both_places_both() -> None:
    centre = instance([booking("early", day=10), booking("late", day=11)],
                      [slot(12, 10, free=2)])
    assert moved_to(solved(centre)) == {"early": at(12, 10), "late": at(12, 10)}


def test_fairness_between_families_the_earlier_family_keeps_the_places() -> None:
    centre = instance(
        [booking("a1", day=10, group="early"), booking("a2", day=10, group="early"),
         booking("b1", day=11, group="late"), booking("b2", day=11, group="late")],
        [slot(12, 10, free=2)],
    )
    plan = solved(centre)
    assert moved_to(plan) == {"a1": at(12, 10), "a2": at(12, 10), "b1": None, "b2": None}
    assert plan.status == "optimal"


def test_fairness_does_not_outweigh_priority() -> None:
    # A medical booking later in the outage still comes before an earlier standard one.
    centre = instance([booking("early", day=10), booking("medical", day=11, category="medical")],
                      [slot(12, 10)])
    assert moved_to(solved(centre)) == {"early": None, "medical": at(12, 10)}


# --- v1.1: commitment windows and reasons -----------------------------------------------


def utc(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def spring(category: str, slots: list[str]) -> Instance:
    # Displaced on 30 April, travelling on 20 May; free places on the given days at 10:00.
    start = utc("2025-04-30", 10)
    who = Displaced(booking_id="o", service="short_stay", from_start=start,
                    from_day=start.date(), category=category, outage_day=start.date(),
                    travel_date=date(2025, 5, 20))
    return Instance(
        centre_id="c1", earliest=utc("2025-04-20", 0), bookings=(who,),
        slots=tuple(Slot(service="short_stay", start=utc(d, 10),
                         day=date.fromisoformat(d), free=1) for d in slots))


def test_an_official_goes_earlier_to_keep_the_commitment() -> None:
    # 1 May is nearer, but outside the window an official's visa takes 30 days: 11 days
    # late. 28 April keeps the 15 days: the plan moves them two days earlier.
    plan = solved(spring("official", ["2025-04-28", "2025-05-01"]))
    assert moved_to(plan) == {"o": utc("2025-04-28", 10)}
    assert plan.assignments[0].reason == "earlier_day"
    assert plan.cost == 2 * (2 * 1440 + 240)


def test_a_standard_booking_takes_the_nearer_day_past_the_window() -> None:
    plan = solved(spring("standard", ["2025-04-28", "2025-05-01"]))
    assert moved_to(plan) == {"o": utc("2025-05-01", 10)}
    assert plan.assignments[0].reason == "deadline_kept"


def test_an_official_with_no_room_in_the_window_misses_the_deadline() -> None:
    plan = solved(spring("official", ["2025-05-02"]))
    assert moved_to(plan) == {"o": utc("2025-05-02", 10)}
    assert plan.assignments[0].reason == "deadline_missed"
    assert plan.cost == 2 * (2 * 1440 + 240) + 2 * 1440 * 12


def test_a_booking_moved_before_is_moved_again() -> None:
    centre = instance([booking("b", moved_before=True)], [slot(11, 10)])
    plan = solved(centre)
    assert [a.reason for a in plan.assignments] == ["moved_again"]
    assert [a.reason for a in greedy(centre).assignments] == ["moved_again"]


def test_greedy_fallback_also_gives_the_place_to_the_earlier_original() -> None:
    # Ids in the other order, so that only the original slot can decide.
    centre = instance([booking("a-late", day=11), booking("b-early", day=10)], [slot(12, 10)])
    assert moved_to(greedy(centre)) == {"a-late": None, "b-early": at(12, 10)}
    assert moved_to(solved(centre)) == {"a-late": None, "b-early": at(12, 10)}
