"""The notifier's store: one row per (notification, channel), claimed before anything is sent."""

from services.notifier.store.repository import Claimed, DeliveryRow, DeliveryStore, NewDelivery

__all__ = ["Claimed", "DeliveryRow", "DeliveryStore", "NewDelivery"]
