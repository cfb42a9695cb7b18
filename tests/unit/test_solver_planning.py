"""From a centre's state to the solver's instance: what v1.1 needs of each booking."""

import datetime as dt

import pytest

from services.common.failures import SettingError
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.domain.planning import build_instance
from tests.builders import at, booking, ev, outage
from tests.unit.living import by_type, run
from tests.unit.test_process import calendar

CONFIG = planning_config(Settings())


def test_instance_carries_travel_date_category_and_the_outage_local_first_day() -> None:
    state = calendar()
    run(state, ev("visa.booking.created.v1",
                  booking("b2", at(3, 16), category="official", travel_date="2025-12-20")))
    # 23:30 UTC on 2 December is 00:30 on 3 December in Algiers: the local date counts.
    start = dt.datetime(2025, 12, 2, 23, 30, tzinfo=dt.UTC)
    run(state, ev("visa.outage.declared.v1", outage("o1", start, at(3, 19), notice_min=100_000)))
    instance = build_instance(state, "o1", ["b1", "b2"], at(1, 9), CONFIG.policy, 15)
    official = instance.bookings[1]
    assert (official.booking_id, official.category) == ("b2", "official")
    assert official.travel_date == dt.date(2025, 12, 20)
    assert official.outage_day == dt.date(2025, 12, 3)
    assert not official.moved_before
    assert instance.bookings[0].travel_date is None


def test_a_booking_moved_once_is_moved_again_when_its_new_slot_is_hit() -> None:
    state = calendar()  # b1 at 16:00 on 3 Dec; free: 09:00, 10:00, 16:00 and 4 Dec 09:00
    first = run(state, ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19),
                                                              notice_min=0)))
    assert [m.data.reason for m in by_type(first, "visa.appointment.rescheduled.v1")] == [
        "same_day"]
    instance = build_instance(state, "o1", ["b1"], at(3, 8), CONFIG.policy, 15)
    assert instance.bookings[0].moved_before
    second = run(state, ev("visa.outage.declared.v1", outage("o2", at(3, 9, 30), at(3, 11),
                                                               notice_min=0)))
    again = by_type(second, "visa.appointment.rescheduled.v1")
    assert [(m.data.booking_id, m.data.reason) for m in again] == [("b1", "moved_again")]



def test_planning_config_reads_the_v1_1_policy() -> None:
    settings = Settings(commitment_windows="03-01..03-31", processing_days_uncommitted=40,
                        fairness_day_penalty=100, horizon_days=45)
    policy = planning_config(settings).policy
    assert policy.commitment_windows == ((301, 331),)
    assert (policy.processing_days_uncommitted, policy.fairness_day_penalty) == (40, 100)
    assert policy.horizon_days == 45
    assert CONFIG.policy.commitment_windows == ((101, 430), (1001, 1201))


def test_a_malformed_commitment_window_setting_stops_the_start() -> None:
    with pytest.raises(SettingError, match=r"RESLOT_COMMITMENT_WINDOWS: .*'01-01\.\.13-01'"):
        planning_config(Settings(commitment_windows="01-01..13-01"))
