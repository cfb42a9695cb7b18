"""What a claim in the store means for a (notification, channel): the dedupe decision."""

from enum import StrEnum

from services.notifier.domain.model import DeliveryState


class OnClaim(StrEnum):
    SEND = "send"  # newly claimed by us: send it
    IN_PROGRESS = "in_progress"  # claimed before and not finished: the dispatcher owns it
    REPORT = "report"  # decided (now or before): publish its status event, same id every time


def on_claim(inserted: bool, state: DeliveryState) -> OnClaim:
    if state is DeliveryState.SENDING:
        return OnClaim.SEND if inserted else OnClaim.IN_PROGRESS
    return OnClaim.REPORT
