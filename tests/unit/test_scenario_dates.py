"""A demo scenario re-dated to the coming week (services/scenario_dates.py)."""

import datetime as dt
import json
from typing import Any

from services.scenario_dates import latest_time, redate, shifted, weeks_to_now

NOW = dt.datetime(2026, 12, 6, 13, 0, tzinfo=dt.UTC)  # a Sunday


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_a_scenario_a_year_old_moves_to_the_week_from_now() -> None:
    latest = at("2025-11-25T10:00:00+01:00")
    weeks = weeks_to_now(latest, NOW)
    assert weeks == 54
    moved = latest + dt.timedelta(weeks=weeks)
    assert NOW <= moved < NOW + dt.timedelta(weeks=1)


def test_a_scenario_already_in_the_coming_week_stays() -> None:
    assert weeks_to_now(NOW, NOW) == 0
    assert weeks_to_now(NOW + dt.timedelta(days=6, hours=23), NOW) == 0


def test_a_scenario_that_ended_an_hour_ago_moves_one_week() -> None:
    assert weeks_to_now(NOW - dt.timedelta(hours=1), NOW) == 1


def test_a_scenario_further_ahead_comes_back() -> None:
    assert weeks_to_now(NOW + dt.timedelta(weeks=3, days=1), NOW) == -3


def test_instants_and_dates_move_keeping_weekday_time_and_offset() -> None:
    event: dict[str, Any] = {
        "time": "2025-11-25T10:00:00+01:00", "id": "france-visas-2025-12-03",
        "data": {"start": "2025-12-03T08:00:00Z", "travel_date": "2025-12-16",
                 "slots": [{"start": "2025-12-03T09:30:00+01:00", "capacity": 2}],
                 "reason": "2025-12-03 is not a date field here, but a text"}}
    out = shifted(event, dt.timedelta(weeks=54))
    assert out["time"] == "2026-12-08T10:00:00+01:00"
    assert at(out["time"]).strftime("%a %H:%M") == at(event["time"]).strftime("%a %H:%M")
    assert out["data"]["start"] == "2026-12-16T08:00:00+00:00"
    assert out["data"]["travel_date"] == "2026-12-29"
    assert out["data"]["slots"] == [{"start": "2026-12-16T09:30:00+01:00", "capacity": 2}]
    assert out["id"] == event["id"]  # ids keep their dates
    assert out["data"]["reason"] == event["data"]["reason"]


def test_redate_moves_every_line_by_the_latest_event_and_leaves_bad_lines() -> None:
    lines = [json.dumps({"time": "2025-11-01T09:00:00+01:00", "data": {}}).encode(),
             b"{not json",
             json.dumps({"time": "2025-11-25T10:00:00+01:00", "data": {}}).encode()]
    out, weeks = redate(lines, NOW)
    assert weeks == 54
    assert out[1] == b"{not json"
    assert [json.loads(x)["time"] for x in (out[0], out[2])] == [
        "2026-11-14T09:00:00+01:00", "2026-12-08T10:00:00+01:00"]


def test_redate_of_a_current_scenario_changes_nothing() -> None:
    lines = [json.dumps({"time": "2026-12-07T10:00:00+01:00"}).encode()]
    assert redate(lines, NOW) == (lines, 0)


def test_the_latest_time_ignores_what_is_not_an_event() -> None:
    lines = [b"[]", b"{}", json.dumps({"time": "naive 2025"}).encode(),
             json.dumps({"time": "2025-11-25T10:00:00"}).encode(),  # no offset: not counted
             json.dumps({"time": "2025-11-01T09:00:00+01:00"}).encode()]
    assert latest_time(lines) == at("2025-11-01T09:00:00+01:00")
    assert latest_time([b"nothing"]) is None
