"""Quiet hours: no SMS between `start` and `end` o'clock in the centre's time zone."""

import datetime as dt
from zoneinfo import ZoneInfo


def is_quiet(local_hour: int, start: int, end: int) -> bool:
    """Whether `local_hour` falls in the window [start, end), which may wrap midnight.

    start == end means no quiet hours at all.
    """
    if start == end:
        return False
    if start < end:
        return start <= local_hour < end
    return local_hour >= start or local_hour < end


def sms_not_before(now: dt.datetime, tz: ZoneInfo, start: int, end: int) -> dt.datetime | None:
    """When an SMS due at `now` may be sent: None if at once, else the next `end`:00 local (UTC)."""
    local = now.astimezone(tz)
    if not is_quiet(local.hour, start, end):
        return None
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    release = dt.datetime.combine(day, dt.time(end), tzinfo=tz)
    # A release time inside a DST gap does not exist: the UTC round trip moves it forward.
    return release.astimezone(dt.UTC)
