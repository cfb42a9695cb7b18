"""The notifier's store: one row per (notification, channel), claimed before anything is sent."""

from services.notifier.store.outbox import OutboxRow
from services.notifier.store.repository import DeliveryStore
from services.notifier.store.rows import (
    Claimed,
    Counted,
    Decision,
    Deferral,
    DeliveryRow,
    NewDelivery,
)

__all__ = [
    "Claimed",
    "Counted",
    "Decision",
    "Deferral",
    "DeliveryRow",
    "DeliveryStore",
    "NewDelivery",
    "OutboxRow",
]
