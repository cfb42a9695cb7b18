"""Sending claimed deliveries: a ready queue, a sender and an outcome recorder (see
dispatcher.py for how they fit)."""

from services.notifier.dispatcher.config import DispatchConfig, address_of, sms_hold
from services.notifier.dispatcher.dispatcher import Dispatcher
from services.notifier.dispatcher.jobs import Prepared

__all__ = ["DispatchConfig", "Dispatcher", "Prepared", "address_of", "sms_hold"]
