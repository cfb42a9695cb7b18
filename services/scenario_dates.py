"""A demo scenario re-dated to the coming week, so that `reslot dev --demo` plays it as news.

The example files were written for December 2025. Played a year later as they are, every
offer's reply window had closed before it was made: the scheduler answered all of them at
once by timeout, and every reply link in the messages had expired. Re-dated, the latest
event of the scenario falls in the week from now, and all its instants and dates (slots,
outages, bookings, travel dates) move by the same whole number of weeks, so that weekdays
(a centre's opening days), times of day and the spacing between events are kept. Ids are
left as they are, dates in them included.
"""

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

WEEK = dt.timedelta(weeks=1)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def weeks_to_now(latest: dt.datetime, now: dt.datetime) -> int:
    """The whole weeks that bring `latest` to the week starting at `now` (0 when it lies
    in it already; negative for a scenario further ahead)."""
    return -((latest - now) // WEEK)


def shifted(value: Any, delta: dt.timedelta) -> Any:
    """`value` (parsed JSON) with every instant with an offset and every plain date moved by
    `delta` (whole days); anything else as it is."""
    if isinstance(value, dict):
        return {k: shifted(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, delta) for v in value]
    if isinstance(value, str):
        if _INSTANT.fullmatch(value):
            return (dt.datetime.fromisoformat(value) + delta).isoformat()
        if _DATE.fullmatch(value):
            return (dt.date.fromisoformat(value) + delta).isoformat()
    return value


def latest_time(lines: Sequence[bytes]) -> dt.datetime | None:
    """The latest `time` of the events of `lines`; None if none has one."""
    found = []
    for line in lines:
        try:
            event = json.loads(line)
            found.append(dt.datetime.fromisoformat(event["time"]))
        except (ValueError, TypeError, KeyError):
            continue  # not an event: the validation says so
    aware = [t for t in found if t.tzinfo is not None]
    return max(aware) if aware else None


def redate(lines: Sequence[bytes], now: dt.datetime) -> tuple[list[bytes], int]:
    """The scenario's lines moved to the week from `now`, and by how many weeks. A line
    that is not JSON is left as it is, for the validation to refuse."""
    latest = latest_time(lines)
    weeks = 0 if latest is None else weeks_to_now(latest, now)
    if weeks == 0:
        return list(lines), 0
    delta = weeks * WEEK
    out = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        out.append(json.dumps(shifted(event, delta), ensure_ascii=False).encode())
    return out, weeks
