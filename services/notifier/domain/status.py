"""Status events of deliveries, with ids derived from what they report (services.common.ids)."""

import datetime as dt
from typing import Literal

from schemas.data import NotificationDelivered, NotificationFailed
from schemas.events import NotificationDeliveredEvent, NotificationFailedEvent
from services.common.ids import derived_id
from services.notifier.domain.model import DeliveryKey, DeliveryState

SOURCE = "reslot/notifier"
SERVICE = "notifier"
SUPERSEDED = "superseded"  # the error of a failed status whose delivery a later one replaced

Outcome = Literal["delivered", "failed"]
StatusEvent = NotificationDeliveredEvent | NotificationFailedEvent


def status_event_id(key: DeliveryKey, outcome: Outcome) -> str:
    """The same (notification, channel, outcome) always yields the same event id."""
    return derived_id("notification-status", key.notification_id, key.channel, outcome)


def outcome_of(state: DeliveryState, error: str | None) -> tuple[Outcome, str | None]:
    """What a decided delivery reports: delivered, or failed with why (superseded included)."""
    if state is DeliveryState.DELIVERED:
        return "delivered", None
    if state is DeliveryState.SUPERSEDED:
        return "failed", SUPERSEDED
    if state is DeliveryState.FAILED:
        return "failed", error or "unknown"
    raise ValueError(f"a delivery still {state.value} has no status yet")


def status_event(
    key: DeliveryKey,
    centre_id: str,
    outcome: Outcome,
    attempts: int,
    error: str | None,
    at: dt.datetime,
) -> StatusEvent:
    """The delivered or failed event for one channel of one notification."""
    event_id = status_event_id(key, outcome)
    if outcome == "delivered":
        return NotificationDeliveredEvent(
            specversion="1.0",
            id=event_id,
            source=SOURCE,
            type="visa.notification.delivered.v1",
            time=at,
            subject=centre_id,
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
        subject=centre_id,
        data=NotificationFailed(
            notification_id=key.notification_id,
            channel=key.channel,
            attempts=attempts,
            error=error or "unknown",
        ),
    )
