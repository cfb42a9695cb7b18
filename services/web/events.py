"""The events the front publishes, with ids derived from what caused them.

A double click, two tabs or a retried request publish the SAME event (same id), so the
scheduler sees one answer, and consumers dedupe by id (REPLIES.md).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from schemas import data as d
from schemas import events as e
from schemas import replies as r
from schemas.envelope import CloudEvent
from schemas.events import event_type_of
from services.common.ids import derived_id
from services.web.publisher import SOURCE

Channel = Literal["web", "sms"]
Wants = Literal["call_me", "cancel"]
CallOutcome = Literal["reached", "no_answer", "resolved"]


@dataclass(frozen=True)
class OfferKey:
    """What names an offer in a reply: the offer, its booking and centre."""

    offer_id: str
    booking_id: str
    centre_id: str


def parse_time(text: str, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """A time a form sent: aware (in `tz` when it names no offset and `tz` is given) and one
    that has a UTC form; None for anything else, a year at the calendar's edge included
    (9999-12-31T23:00-05:00 is past the last UTC date, and was a server error)."""
    try:
        value = dt.datetime.fromisoformat(text)
        if value.tzinfo is None:
            if tz is None:
                return None
            value = value.replace(tzinfo=tz)
        value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
    return value


def utc_iso(value: dt.datetime) -> str:
    """The stored form of a time (UTC ISO), the same whatever zone `value` is in."""
    return value.astimezone(dt.UTC).isoformat()


def _event(kind: type[CloudEvent[Any]], event_id: str, centre_id: str, now: dt.datetime,
           data: Any) -> CloudEvent[Any]:
    return kind(specversion="1.0", id=event_id, source=SOURCE, type=event_type_of(kind),
                time=now, subject=centre_id, data=data)


def confirmed_id(offer_id: str) -> str:
    return derived_id("reply", offer_id, "confirmed")


def changed_id(offer_id: str, slot_start: dt.datetime) -> str:
    return derived_id("reply", offer_id, "changed", utc_iso(slot_start))


def declined_id(offer_id: str, wants: Wants) -> str:
    return derived_id("reply", offer_id, "declined", wants)


def confirmed(offer: OfferKey, now: dt.datetime, channel: Channel = "web",
              inbound_id: str | None = None) -> CloudEvent[Any]:
    """The applicant confirms; by SMS the id comes from the inbound message and the offer."""
    event_id = (derived_id("sms", inbound_id, offer.offer_id) if inbound_id is not None
                else confirmed_id(offer.offer_id))
    return _event(e.OfferConfirmedEvent, event_id, offer.centre_id, now, r.OfferConfirmed(
        offer_id=offer.offer_id, booking_id=offer.booking_id, centre_id=offer.centre_id,
        channel=channel))


def changed(offer: OfferKey, slot_start: dt.datetime, now: dt.datetime) -> CloudEvent[Any]:
    return _event(e.OfferChangedEvent, changed_id(offer.offer_id, slot_start), offer.centre_id,
                  now, r.OfferChanged(offer_id=offer.offer_id, booking_id=offer.booking_id,
                                      centre_id=offer.centre_id, channel="web",
                                      slot_start=slot_start.astimezone(dt.UTC)))


def declined(offer: OfferKey, wants: Wants, now: dt.datetime) -> CloudEvent[Any]:
    return _event(e.OfferDeclinedEvent, declined_id(offer.offer_id, wants), offer.centre_id,
                  now, r.OfferDeclined(offer_id=offer.offer_id, booking_id=offer.booking_id,
                                       centre_id=offer.centre_id, channel="web", wants=wants))


def approved(plan_id: str, centre_id: str, by: str, now: dt.datetime) -> CloudEvent[Any]:
    return _event(e.PlanApprovedEvent, derived_id("approve", plan_id), centre_id, now,
                  r.PlanApproved(plan_id=plan_id, centre_id=centre_id, by=by))


def pin_id(centre_id: str, booking_id: str, standing_plan: str, slot_start: dt.datetime) -> str:
    """One pin per booking, decision and slot: pinning again after a new decision is new."""
    return derived_id("pin", centre_id, booking_id, standing_plan, utc_iso(slot_start))


def pinned(centre_id: str, booking_id: str, standing_plan: str, slot_start: dt.datetime,
           by: str, now: dt.datetime) -> CloudEvent[Any]:
    return _event(e.BookingPinnedEvent, pin_id(centre_id, booking_id, standing_plan, slot_start),
                  centre_id, now, r.BookingPinned(booking_id=booking_id, centre_id=centre_id,
                                                  slot_start=slot_start.astimezone(dt.UTC),
                                                  by=by))


def call_logged(centre_id: str, booking_id: str, attempt: str, by: str, outcome: CallOutcome,
                note: str, now: dt.datetime) -> CloudEvent[Any]:
    """`attempt`: the id the call form was rendered with, so a double click logs one call."""
    return _event(e.CallLoggedEvent, derived_id("call", centre_id, booking_id, attempt),
                  centre_id, now, r.CallLogged(booking_id=booking_id, centre_id=centre_id,
                                               by=by, outcome=outcome, note=note))


def sms_answer(inbound_id: str, offer_id: str, booking_id: str, centre_id: str,
               template: Literal["reply_link", "reply_help"], language: d.Language,
               recipient: d.Recipient, variables: dict[str, str],
               now: dt.datetime) -> CloudEvent[Any]:
    """The notifier sends this answer to an inbound SMS; one per inbound message and offer."""
    notification_id = derived_id("sms-answer", inbound_id, offer_id, template)
    return _event(e.NotificationRequestedEvent, notification_id, centre_id, now,
                  d.NotificationRequested(
                      notification_id=notification_id, booking_id=booking_id,
                      centre_id=centre_id, template=template, language=language,
                      recipient=recipient, variables=variables))
