"""The notifier's store: one row per (notification, channel), claimed before anything is sent."""

from services.notifier.store.repository import (
    Claimed,
    Decision,
    Deferral,
    DeliveryRow,
    DeliveryStore,
    NewDelivery,
)

__all__ = ["Claimed", "Decision", "Deferral", "DeliveryRow", "DeliveryStore", "NewDelivery"]
