"""One test per cost term of CONTRACT.md (cost.py), on ints and on numpy arrays alike."""

from datetime import UTC, date, datetime

import numpy as np
import pytest

from services.scheduler.solver import cost
from services.scheduler.solver.model import Displaced, Policy
from tests.unit.test_rules import booking

POLICY = Policy()
OFFICIAL, STANDARD, MEDICAL = 2, 1, 3


def day(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def array(value: cost.Num) -> cost.IntArray:
    # A term given arrays answers with one (it may take plain ints too).
    assert isinstance(value, np.ndarray)
    return value


def flags(value: cost.Flag) -> cost.BoolArray:
    assert isinstance(value, np.ndarray)
    return value


# --- who pays ---------------------------------------------------------------------------


def test_minute_of_counts_whole_minutes() -> None:
    assert cost.minute_of(datetime(1970, 1, 1, 1, 2, 59, tzinfo=UTC)) == 62


def test_weight_by_category_unknown_counts_as_standard() -> None:
    assert [cost.weight(c, POLICY) for c in ("standard", "official", "medical", "vip")] == [
        1, 2, 3, 1]


def test_only_officials_are_committable() -> None:
    assert cost.committable("official")
    assert not cost.committable("standard")
    assert not cost.committable("medical")


def test_travel_ordinal_none_is_never_late() -> None:
    assert cost.travel_ordinal(date(2025, 5, 20)) == day("2025-05-20")
    assert cost.travel_ordinal(None) == cost.NO_TRAVEL > day("9999-12-31")


def test_magnitude_and_positive_part_on_ints_and_arrays() -> None:
    assert (cost.magnitude(-7), cost.magnitude(7)) == (7, 7)
    assert (cost.positive_part(-7), cost.positive_part(0), cost.positive_part(7)) == (0, 0, 7)
    values = np.array([-7, 0, 7])
    assert cost.ints(cost.magnitude(values)).tolist() == [7, 0, 7]
    assert cost.ints(cost.positive_part(values)).tolist() == [0, 0, 7]


# --- commitment windows -----------------------------------------------------------------


def test_parse_windows_reads_the_default_setting() -> None:
    assert cost.parse_windows("01-01..04-30,10-01..12-01") == ((101, 430), (1001, 1201))
    assert cost.parse_windows(" 12-15..01-15 , 02-29..03-01") == ((1215, 115), (229, 301))
    assert cost.parse_windows("") == ()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("01-01", "not MM-DD..MM-DD"), ("01-01..04-31", "no date"), ("1-1..4-30", "not MM-DD"),
     ("01-01..04-30..05-01", "not MM-DD..MM-DD"), ("13-01..12-01", "no date"),
     ("aa-bb..04-30", "not MM-DD")],
)
def test_parse_windows_refuses_a_malformed_setting(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        cost.parse_windows(text)


@pytest.mark.parametrize(
    ("when", "inside"),
    [("2025-01-01", True), ("2025-04-30", True), ("2025-05-01", False), ("2025-05-02", False),
     ("2025-09-30", False), ("2025-10-01", True), ("2025-12-01", True), ("2025-12-02", False),
     ("2025-12-31", False), ("2026-01-01", True), ("2024-02-29", True)],
)
def test_committed_window_edges_are_inclusive(when: str, inside: bool) -> None:
    assert bool(cost.committed(day(when), POLICY)) is inside
    assert cost.booking_committed(date.fromisoformat(when), POLICY) is inside


def test_committed_on_arrays_and_over_new_year() -> None:
    days = np.array([day("2025-04-30"), day("2025-05-01"), day("2025-12-01")], dtype=np.int64)
    assert flags(cost.committed(days, POLICY)).tolist() == [True, False, True]
    winter = Policy(commitment_windows=((1215, 115),))
    assert [bool(cost.committed(day(d), winter)) for d in
            ("2025-12-14", "2025-12-15", "2026-01-15", "2026-01-16")] == [False, True, True, False]
    assert flags(cost.committed(days, Policy(commitment_windows=()))).tolist() == [False] * 3


# --- placement terms --------------------------------------------------------------------


def test_processing_days_of_an_official_depend_on_the_commitment() -> None:
    assert int(cost.processing_days(True, True, POLICY)) == 15
    assert int(cost.processing_days(False, True, POLICY)) == 30
    assert int(cost.processing_days(False, False, POLICY)) == 15
    both = array(cost.processing_days(np.array([True, False]), np.array([[True], [False]]),
                                       POLICY))
    assert both.tolist() == [[15, 30], [15, 15]]


def test_deadline_is_travel_minus_processing() -> None:
    travel = day("2025-05-20")
    assert int(cost.deadline(travel, True, True, POLICY)) == day("2025-05-05")
    assert int(cost.deadline(travel, False, True, POLICY)) == day("2025-04-20")
    assert int(cost.deadline(cost.NO_TRAVEL, False, True, POLICY)) > day("2999-12-31")


def test_never_late_on_any_of_the_days() -> None:
    days = np.array([day("2025-04-30"), day("2025-05-02")])
    committed = flags(cost.committed(days, POLICY))
    # Travel 1 June: deadline 17 May (standard) or 2 May outside the window (official).
    travel = day("2025-06-01")
    assert cost.never_late(travel, False, days, committed, POLICY)
    assert cost.never_late(travel, True, days, committed, POLICY)
    assert not cost.never_late(travel - 1, True, days, committed, POLICY)
    assert cost.never_late(travel - 1, True, days[:1], committed[:1], POLICY)
    assert cost.never_late(cost.NO_TRAVEL, True, days, committed, POLICY)


def test_late_days_count_days_past_the_deadline() -> None:
    assert array(cost.late_days(np.array([9, 10, 11, 14]), 10)).tolist() == [0, 0, 1, 4]


def test_changed_day() -> None:
    assert flags(cost.changed_day(10, np.array([9, 10, 11]))).tolist() == [1, 0, 1]


def test_distance_part_weighs_minutes_either_way() -> None:
    assert int(cost.distance_part(STANDARD, 600, 645)) == 45
    assert int(cost.distance_part(MEDICAL, 645, 600)) == 3 * 45
    assert array(cost.distance_part(OFFICIAL, 600, np.array([500, 600, 700]))).tolist() == [
        200, 0, 200]


def test_distance_part_adds_up_through_a_day_end() -> None:
    # The flow's day hubs: from the original start to the day's first start, then on.
    start, base, slots = 600, 2000, np.array([2000, 2015, 2400])
    direct = array(cost.distance_part(OFFICIAL, start, slots))
    via = array(cost.distance_part(OFFICIAL, start, base)
                + cost.distance_part(OFFICIAL, base, slots))
    assert direct.tolist() == via.tolist()


def test_day_part_is_day_change_plus_lateness() -> None:
    on, late = day("2025-03-12"), day("2025-03-14")
    travel = day("2025-03-27")  # deadline 12 March for a standard booking
    assert int(cost.day_part(STANDARD, on, on, True, travel, False, POLICY)) == 0
    assert int(cost.day_part(STANDARD, on - 1, on, True, travel, False, POLICY)) == 240
    assert int(cost.day_part(STANDARD, on, late, True, travel, False, POLICY)) == 240 + 2 * 1440
    assert int(cost.day_part(MEDICAL, late, late, True, travel, False, POLICY)) == 3 * 2 * 1440
    assert int(cost.day_part(STANDARD, on, late, True, cost.NO_TRAVEL, False, POLICY)) == 240


def test_placement_cost_is_distance_part_plus_day_part() -> None:
    minutes = np.array([1000, 3000, 9000])
    days = np.array([day("2025-04-29"), day("2025-04-30"), day("2025-05-02")])
    committed = flags(cost.committed(days, POLICY))
    travel, origin = day("2025-05-20"), day("2025-04-29")
    whole = array(cost.placement_cost(OFFICIAL, 900, origin, minutes, days, committed, travel,
                                      True, POLICY))
    parts = array(cost.distance_part(OFFICIAL, 900, minutes) + cost.day_part(
        OFFICIAL, origin, days, committed, travel, True, POLICY))
    assert whole.tolist() == parts.tolist()
    one = [int(cost.placement_cost(OFFICIAL, 900, origin, int(m), int(d), bool(c), travel,
                                   True, POLICY)) for m, d, c in zip(minutes, days, committed,
                                                                     strict=True)]
    assert whole.tolist() == one


# --- the commitment edges, on bookings --------------------------------------------------


def official(on: str, travel: str) -> Displaced:
    start = datetime.fromisoformat(f"{on}T09:00:00+00:00")
    return Displaced(booking_id="o", service="short_stay", from_start=start,
                     from_day=start.date(), category="official", outage_day=start.date(),
                     travel_date=date.fromisoformat(travel))


def moved(who: Displaced, to: str) -> int:
    start = datetime.fromisoformat(f"{to}T09:00:00+00:00")
    return cost.booking_placement(who, start, start.date(), POLICY)


def moving(days: int) -> int:
    # An official (weight 2) moved `days` days, same time of day.
    return 2 * (days * 1440 + 240)


def test_official_30_april_to_2_may_loses_the_commitment() -> None:
    # Travel 20 May: the deadline is 5 May inside the window, 20 April outside it.
    who = official("2025-04-30", "2025-05-20")
    assert moved(who, "2025-04-30") == 0
    assert moved(who, "2025-05-02") == moving(2) + 2 * 1440 * 12
    standard = who.model_copy(update={"category": "standard"})
    assert moved(standard, "2025-05-02") == 2 * 1440 + 240


def test_official_1_to_2_december_loses_the_commitment() -> None:
    who = official("2025-12-01", "2025-12-20")  # deadline 5 Dec inside, 20 Nov outside
    assert moved(who, "2025-12-01") == 0
    assert moved(who, "2025-12-02") == moving(1) + 2 * 1440 * 12


def test_official_31_december_to_1_january_regains_the_commitment() -> None:
    who = official("2025-12-31", "2026-01-20")  # deadline 21 Dec outside, 5 Jan inside
    assert moved(who, "2025-12-31") == 2 * 1440 * 10
    assert moved(who, "2026-01-01") == moving(1)


def test_booking_deadline_follows_the_new_day() -> None:
    who = official("2025-04-29", "2025-05-20")
    assert cost.booking_deadline(who, date(2025, 4, 30), POLICY) == date(2025, 5, 5)
    assert cost.booking_deadline(who, date(2025, 5, 2), POLICY) == date(2025, 4, 20)
    assert cost.booking_deadline(booking("b"), date(2025, 5, 2), POLICY) is None


# --- unplaced ---------------------------------------------------------------------------


def test_unplaced_cost_fairness_by_days_from_the_outage_start() -> None:
    first = day("2025-03-10")
    assert int(cost.unplaced_cost(STANDARD, first, first, POLICY)) == 100_000 + 2880 * 30
    assert int(cost.unplaced_cost(STANDARD, first + 5, first, POLICY)) == 100_000 + 2880 * 25
    assert int(cost.unplaced_cost(STANDARD, first + 30, first, POLICY)) == 100_000
    assert int(cost.unplaced_cost(STANDARD, first + 45, first, POLICY)) == 100_000
    assert int(cost.unplaced_cost(MEDICAL, first + 29, first, POLICY)) == 3 * (100_000 + 2880)
    waiting = Policy(horizon_days=60)  # the waiting list's re-plan: the term spans 60 days
    assert int(cost.unplaced_cost(STANDARD, first + 45, first, waiting)) == 100_000 + 2880 * 15
    days = np.array([first, first + 1])
    assert array(cost.unplaced_cost(STANDARD, days, first, POLICY)).tolist() == [186_400, 183_520]


def test_booking_unplaced_reads_the_outage_day() -> None:
    assert cost.booking_unplaced(booking("b"), POLICY) == 100_000 + 2880 * 30
    assert cost.booking_unplaced(booking("b", day=12), POLICY) == 100_000 + 2880 * 28
    assert cost.booking_unplaced(booking("m", category="medical", outage_day=1),
                                 POLICY) == 3 * (100_000 + 2880 * 21)
