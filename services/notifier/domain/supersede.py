"""Superseded messages (CONTRACT v1.1): a booking decided again before its earlier message
went out gets only the latest. A request names, in `supersedes`, the notification ids of the
same booking it replaces; the notifier never sends one of those it has not sent yet.

"Not sent yet" is what the store can prove: the delivery is still being sent and no attempt
is on the wire. A delivery with an attempt under way is left to that attempt: delivered, it
was sent; failed and due again, it is stopped before its next attempt.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.data import NotificationRequested
from services.notifier.domain.model import DeliveryKey, DeliveryState


@dataclass(frozen=True)
class Supersession:
    """`replaced` notification ids of `booking_id`, replaced by notification `by`."""

    booking_id: str
    by: str
    replaced: tuple[str, ...]


@dataclass(frozen=True)
class Pending:
    """What the store knows of a delivery that a newer request may replace."""

    key: DeliveryKey
    booking_id: str
    state: DeliveryState
    in_flight: bool


def supersessions_of(requests: Iterable[NotificationRequested]) -> list[Supersession]:
    """The replacements a batch of requests asks for; a request never replaces itself."""
    found = []
    for request in requests:
        replaced = tuple(i for i in request.supersedes if i != request.notification_id)
        if replaced:
            found.append(Supersession(request.booking_id, request.notification_id, replaced))
    return found


def replaced_now(pending: Iterable[Pending], replaced_of: Mapping[str, str]) -> list[DeliveryKey]:
    """Deliveries to stop at once: replaced (`replaced_of`: notification id -> its booking),
    of that booking, not sent yet and with no attempt on the wire."""
    return [
        p.key
        for p in pending
        if replaced_of.get(p.key.notification_id) == p.booking_id
        and p.state is DeliveryState.SENDING
        and not p.in_flight
    ]


def arrives_replaced(booking_id: str, replaced_for: str | None) -> bool:
    """A request that arrives (or comes due) after a request of its booking replaced it is
    never sent; `replaced_for` is the booking the replacement named, if any."""
    return replaced_for is not None and replaced_for == booking_id
