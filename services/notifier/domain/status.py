"""Status and dead-letter events with ids derived from what they report (uuid5)."""

import base64
import datetime as dt
import uuid
from typing import Literal

from schemas.data import DeadLetter, NotificationDelivered, NotificationFailed
from schemas.events import DeadLetterEvent, NotificationDeliveredEvent, NotificationFailedEvent
from services.notifier.domain.model import DeliveryKey

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reslot.example/notifier")
SOURCE = "reslot/notifier"
SERVICE = "notifier"

Outcome = Literal["delivered", "failed"]
StatusEvent = NotificationDeliveredEvent | NotificationFailedEvent


def status_event_id(key: DeliveryKey, outcome: Outcome) -> str:
    """The same (notification, channel, outcome) always yields the same event id."""
    return str(uuid.uuid5(NAMESPACE, f"{key.notification_id}\x1f{key.channel}\x1f{outcome}"))


def status_event(
    key: DeliveryKey,
    centre_id: str,
    outcome: Outcome,
    attempts: int,
    error: str | None,
    at: dt.datetime,
) -> StatusEvent:
    """The delivered or failed event for one channel of one notification."""
    event_id, subject = status_event_id(key, outcome), centre_id
    if outcome == "delivered":
        return NotificationDeliveredEvent(
            specversion="1.0",
            id=event_id,
            source=SOURCE,
            type="visa.notification.delivered.v1",
            time=at,
            subject=subject,
            data=NotificationDelivered(
                notification_id=key.notification_id, channel=key.channel, attempts=attempts
            ),
        )
    return NotificationFailedEvent(
        specversion="1.0",
        id=event_id,
        source=SOURCE,
        type="visa.notification.failed.v1",
        time=at,
        subject=subject,
        data=NotificationFailed(
            notification_id=key.notification_id,
            channel=key.channel,
            attempts=attempts,
            error=error or "unknown",
        ),
    )


def dead_letter_event(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    error_class: str,
    error: str,
    at: dt.datetime,
) -> DeadLetterEvent:
    """A message the notifier gave up on, carried whole (base64) with where it was and why."""
    return DeadLetterEvent(
        specversion="1.0",
        id=str(uuid.uuid5(NAMESPACE, f"deadletter\x1f{topic}\x1f{partition}\x1f{offset}")),
        source=SOURCE,
        type="visa.deadletter.v1",
        time=at,
        subject="",
        data=DeadLetter(
            topic=topic,
            partition=partition,
            offset=offset,
            key=base64.b64encode(key).decode() if key is not None else None,
            value=base64.b64encode(value).decode(),
            error_class=error_class,
            error=error,
            service=SERVICE,
        ),
    )
