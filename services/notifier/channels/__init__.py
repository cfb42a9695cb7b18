"""Channels at the edge: what a sender is given and what it answers."""

from dataclasses import dataclass
from typing import Protocol

from services.notifier.domain.model import Failure
from services.notifier.rendering import RenderedMessage


@dataclass(frozen=True)
class Outbound:
    """One message to one address, identified by its notification id on every attempt."""

    notification_id: str
    recipient_name: str
    address: str  # e-mail address or E.164 phone number: personal data, never logged
    message: RenderedMessage


class Sender(Protocol):
    async def send(self, outbound: Outbound) -> Failure | None:
        """Deliver one message: None when accepted, else why not (transient or permanent)."""
        ...

    async def close(self) -> None: ...
