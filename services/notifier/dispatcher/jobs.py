"""A delivery in this instance's hands (a job), and its request with the message rendered."""

import datetime as dt

import structlog
from pydantic import ValidationError

from schemas.data import NotificationRequested
from services.notifier.rendering import RenderedMessage, Renderer
from services.notifier.store import DeliveryRow

log = structlog.get_logger("reslot.notifier")


class Prepared:
    """A request and its message, rendered at most once for all of its channels."""

    __slots__ = ("_message", "request")

    def __init__(
        self, request: NotificationRequested, message: RenderedMessage | None = None
    ) -> None:
        self.request = request
        self._message = message

    def message(self, renderer: Renderer) -> RenderedMessage:
        if self._message is None:
            self._message = renderer.render(self.request)
        return self._message


class Job:
    """One delivery in this instance's hands: its row as last written, and its request."""

    __slots__ = ("attempts", "booking_id", "centre_id", "error", "key", "not_before",
                 "prepared", "seq", "slot")

    def __init__(self, row: DeliveryRow, prepared: Prepared) -> None:
        self.key = row.key
        self.booking_id = row.booking_id
        self.centre_id = row.centre_id
        self.prepared = prepared
        self.attempts = row.attempts
        self.not_before: dt.datetime = row.not_before
        self.error = row.error
        self.slot = False  # holds one of the max_in_flight places (counted, not recorded)
        self.seq = 0  # when it became ready: deliveries are attempted in that order


def prepared_from(row: DeliveryRow) -> Prepared | None:
    """The stored request of a claimed row; None (and a log line) if it cannot be read."""
    if row.request is None:
        log.error("claimed row without its request", delivery=str(row.key))
        return None
    try:
        return Prepared(NotificationRequested.model_validate_json(row.request))
    except ValidationError:
        log.error("stored request unreadable", delivery=str(row.key))
        return None
