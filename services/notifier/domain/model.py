"""Names the rest of the notifier shares: channels, delivery states, outcomes."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")


class DeliveryState(StrEnum):
    """State of one (notification, channel) in the store."""

    SENDING = "sending"  # claimed: not delivered yet (maybe held, maybe between retries)
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # replaced by a later request of the same booking, never sent


@dataclass(frozen=True, order=True)
class DeliveryKey:
    """One notification on one channel: the unit that is sent exactly once."""

    notification_id: str
    channel: Channel

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}"


@dataclass(frozen=True)
class Failure:
    """Why one attempt failed; `transient` failures are worth another attempt."""

    transient: bool
    error: str
    retry_after_s: float | None = None
