"""What to do next with one claimed delivery, given its row and the time: a pure decision."""

import datetime as dt
from dataclasses import dataclass

from services.notifier.domain.model import Channel


@dataclass(frozen=True)
class Hold:
    """Quiet hours at the centre: keep it in the store until `until`."""

    until: dt.datetime


@dataclass(frozen=True)
class Wait:
    """Not due yet (backoff after a failure): `seconds` to go."""

    seconds: float


@dataclass(frozen=True)
class Attempt:
    """Send it now."""


@dataclass(frozen=True)
class Fail:
    """Attempts used up (e.g. the last one was cut short by a crash)."""

    error: str


Step = Hold | Wait | Attempt | Fail


def next_step(
    *,
    channel: Channel,
    attempts: int,
    max_attempts: int,
    not_before: dt.datetime,
    last_error: str | None,
    now: dt.datetime,
    quiet_until: dt.datetime | None,
) -> Step:
    if channel == "sms" and quiet_until is not None:
        return Hold(quiet_until)
    if not_before > now:
        return Wait((not_before - now).total_seconds())
    if attempts >= max_attempts:
        return Fail(last_error or "gave up")
    return Attempt()
