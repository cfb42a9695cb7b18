"""No answer by reply_by counts as confirmed (CONTRACT v1.1): the scheduler answers for the
applicant, on its own clock, once per offer.

`expire` marks each due offer (timeout_at) and returns its visa.offer.confirmed.v1 with
channel `timeout`, id derived from the offer: written in the same transaction as the mark,
it is emitted once; read back from visa.replies.v1, it is folded like any reply (a real
answer that came first wins: the timeout is then refused `already_answered`).
"""

import datetime as dt
from typing import Any

from schemas import replies as r
from schemas.envelope import CloudEvent
from services.scheduler.domain import outputs
from services.scheduler.domain.state import CentreState


def expire(state: CentreState, now: dt.datetime) -> list[CloudEvent[Any]]:
    """The timeout answers of the centre's offers due at `now`, each offer marked."""
    now = now.astimezone(dt.UTC)
    out = []
    for booking_id, offer in sorted(state.replies.offers.items()):
        if not offer.due(now):
            continue
        offer.timeout_at = now
        state.replies.touch(booking_id)
        out.append(outputs.timeout_confirmed(r.OfferConfirmed(
            offer_id=offer.offer_id, booking_id=booking_id, centre_id=state.centre_id,
            channel="timeout"), now))
    return out
