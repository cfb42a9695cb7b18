"""What the dispatcher is told: its instance id, retries, quiet hours, leases, bounds."""

import datetime as dt
from dataclasses import dataclass

from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from schemas.data import NotificationRequested
from services.notifier.domain.model import Channel
from services.notifier.domain.quiet_hours import sms_not_before
from services.notifier.domain.request import centre_timezone
from services.notifier.domain.retry import RetryPolicy

# The store or the broker is down: keep what is in hand and try again shortly.
UNAVAILABLE = (SQLAlchemyError, KafkaError, OSError)

# Waits longer than this leave this instance's hands and come back through the sweep.
SHORT_WAIT_S = 60.0


@dataclass(frozen=True)
class DispatchConfig:
    owner: str  # this instance's id in the store
    retry: RetryPolicy
    quiet_start: int
    quiet_end: int
    lease_s: float = 30.0
    sweep_interval_s: float = 1.0
    max_in_flight: int = 64  # deliveries between counted and recorded
    # How long outcomes wait for others to share their transaction (while sends are still
    # running): each transaction costs a hand-off and a sync to disk, one more row in it little.
    linger_s: float = 0.005


def address_of(request: NotificationRequested, channel: Channel) -> str | None:
    return request.recipient.email if channel == "email" else request.recipient.phone


def sms_hold(
    request: NotificationRequested, now: dt.datetime, config: DispatchConfig
) -> dt.datetime | None:
    """When an SMS must wait for the end of the quiet hours at its centre, else None."""
    tz = centre_timezone(request.variables)
    return sms_not_before(now, tz, config.quiet_start, config.quiet_end)
