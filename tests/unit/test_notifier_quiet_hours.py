"""Quiet hours: no SMS from 21:00 to 08:00 in the centre's time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain.quiet_hours import is_quiet, sms_not_before

ALGIERS = ZoneInfo("Africa/Algiers")
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("hour", "quiet"),
    [(20, False), (21, True), (23, True), (0, True), (7, True), (8, False), (12, False)],
)
def test_the_default_window_wraps_midnight(hour: int, quiet: bool) -> None:
    assert is_quiet(hour, 21, 8) is quiet


def test_a_window_within_one_day() -> None:
    assert [h for h in range(24) if is_quiet(h, 1, 6)] == [1, 2, 3, 4, 5]


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    assert not any(is_quiet(h, 0, 0) for h in range(24))


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def test_daytime_sms_goes_at_once() -> None:
    assert sms_not_before(local(ALGIERS, 2025, 12, 3, 20, 59), ALGIERS, 21, 8) is None
    assert sms_not_before(local(ALGIERS, 2025, 12, 3, 8, 0), ALGIERS, 21, 8) is None


def test_evening_sms_waits_for_eight_next_morning() -> None:
    release = sms_not_before(local(ALGIERS, 2025, 12, 3, 21, 0), ALGIERS, 21, 8)
    assert release == local(ALGIERS, 2025, 12, 4, 8, 0)


def test_night_sms_waits_for_eight_the_same_morning() -> None:
    release = sms_not_before(local(ALGIERS, 2025, 12, 4, 3, 15), ALGIERS, 21, 8)
    assert release == local(ALGIERS, 2025, 12, 4, 8, 0)


def test_the_centre_zone_decides_not_the_instant_offset() -> None:
    # 20:30 UTC is 21:30 in Algiers (UTC+1): quiet there, though not in UTC.
    now = dt.datetime(2025, 12, 3, 20, 30, tzinfo=dt.UTC)
    assert sms_not_before(now, ALGIERS, 21, 8) == local(ALGIERS, 2025, 12, 4, 8, 0)
    assert sms_not_before(now, ZoneInfo("UTC"), 21, 8) is None


def test_release_across_a_dst_change_is_eight_local() -> None:
    # Paris moves to summer time in the night of 29-30 March 2025.
    release = sms_not_before(local(PARIS, 2025, 3, 29, 22, 0), PARIS, 21, 8)
    assert release is not None
    assert release.astimezone(PARIS).hour == 8
    assert release == dt.datetime(2025, 3, 30, 6, 0, tzinfo=dt.UTC)


def test_a_release_hour_in_a_dst_gap_moves_forward() -> None:
    new_york = ZoneInfo("America/New_York")  # 02:00 does not exist on 9 March 2025
    release = sms_not_before(local(new_york, 2025, 3, 9, 1, 0), new_york, 0, 2)
    assert release is not None
    assert release.astimezone(new_york).hour == 3


ZONES = st.sampled_from(["Africa/Algiers", "Europe/Paris", "Africa/Casablanca", "Asia/Dubai"])


@given(
    st.datetimes(
        min_value=dt.datetime(2024, 1, 1),
        max_value=dt.datetime(2030, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    ZONES,
)
def test_release_is_the_next_end_hour_within_a_day(now: dt.datetime, zone: str) -> None:
    tz = ZoneInfo(zone)
    release = sms_not_before(now, tz, 21, 8)
    assert (release is None) == (not is_quiet(now.astimezone(tz).hour, 21, 8))
    if release is not None:
        assert now < release <= now + dt.timedelta(hours=12)
        assert release.astimezone(tz).hour == 8
        assert release.astimezone(tz).minute == 0
