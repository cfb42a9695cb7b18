"""`POST /sms/inbound`: the SMS gateway forwards an applicant's text message.

The sender is found by the phone its offers were sent to. `1` / `OK` / `OUI` / `نعم`
confirm (every open offer of the sender, or the one a reply code names), `2` answers with
the link, anything else with the help text: answers go out through the notifier like any
message, in the booking's language. Every id is derived from the inbound message's id, so
a gateway that posts the same message twice publishes the same events (deduplicated).
"""

import datetime as dt
import hmac
import logging
from typing import Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from schemas import data as d
from schemas.envelope import CloudEvent
from services.common import links
from services.web import events as ev
from services.web import sms
from services.web.models import Error, SmsAnswer
from services.web.rows import Offer
from services.web.texts import language_of
from services.web.when import local_iso
from services.web.wiring import Web, WebDep

log = logging.getLogger("reslot.web")
router = APIRouter(tags=["sms"])


class Inbound(BaseModel):
    """What the gateway posts: the sender, the text, the gateway's id of the message."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)
    sender: str = Field(alias="from", pattern=r"^\+[1-9][0-9]{6,14}$",
                        description="The sender's number, E.164.")
    text: str = Field(max_length=1600, description="The message as the applicant typed it.")
    id: str = Field(min_length=1, max_length=200, description="The gateway's id of it.")


def _authorised(request: Request, web: Web) -> None:
    token = web.settings.sms_inbound_token
    if token is None or not token.get_secret_value():
        log.info("inbound SMS refused: RESLOT_SMS_INBOUND_TOKEN is not set")
        raise HTTPException(404, "Not Found")
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, f"Bearer {token.get_secret_value()}".encode()):
        raise HTTPException(401, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": 'Bearer realm="reslot-sms"'})


@router.post("/sms/inbound", operation_id="sms_inbound",
             summary="An applicant's SMS reply, as the gateway forwards it",
             responses={401: {"model": Error}, 404: {"model": Error}})
async def inbound(message: Inbound, request: Request, web: WebDep) -> SmsAnswer:
    _authorised(request, web)
    now = web.clock()
    found = await web.replies.offers_of_phone(message.sender)
    if not found:
        log.info("inbound SMS from a number with no offer: nothing published")
        return SmsAnswer(outcome="unknown_sender", published=0)
    # An offer held for review was never sent: neither its time nor a link to it leaves
    # before the plan is approved (CONTRACT v1.1), whatever the applicant texts.
    offers = [o for o in found if not o.held]
    if not offers:
        log.info("inbound SMS about offers held for review: nothing published")
        return SmsAnswer(outcome="nothing_open", published=0)
    keyword = sms.parse(message.text)
    open_ = [o for o in offers if o.answerable(now)]

    def codes(offer: Offer) -> set[str]:
        return {links.reply_code(offer.offer_id, s) for s in web.link_secrets}

    events: list[CloudEvent[Any]] = []
    outcome: Literal["confirm", "link", "help", "nothing_open"] = keyword.action
    if keyword.action == "confirm":
        targets = sms.chosen(open_, keyword.code, codes)
        if not targets:
            outcome = "help" if keyword.code else "nothing_open"
        events = [ev.confirmed(o.key, now, "sms", message.id) for o in targets]
    elif keyword.action == "link":
        targets = sms.chosen(open_ or offers[:1], keyword.code, codes)
        if not targets or not web.link_secrets:
            outcome = "help"
        else:
            events = [await _answer(web, message, o, "reply_link", now) for o in targets]
    if outcome == "help":
        events = [await _answer(web, message, (open_ or offers)[0], "reply_help", now)]
    try:
        await web.publisher.publish(events)
    except (KafkaError, TimeoutError, RuntimeError) as exc:  # the gateway retries: same ids
        log.error("inbound SMS not answered: %s", type(exc).__name__)
        raise HTTPException(503, "the broker did not take it: try again") from exc
    log.info("inbound SMS: %s, %d event(s) published", outcome, len(events))
    return SmsAnswer(outcome="confirmed" if outcome == "confirm" else outcome,
                     published=len(events))


async def _answer(web: Web, message: Inbound, offer: Offer, template: Any,
                  now: dt.datetime) -> CloudEvent[Any]:
    """The message answering `message` about `offer`: to the sender's phone, in the booking's
    language, with what the offer's own message said (times in the centre's zone)."""
    centre = await web.replies.centre(offer.centre_id)
    assert centre is not None, "an offer at a centre the store does not know"
    service, applicant, reason = await web.replies.booking_facts(offer.centre_id,
                                                                 offer.booking_id)
    variables = {
        "booking_id": offer.booking_id, "timezone": centre.timezone,
        "old_start": local_iso(offer.from_start, centre.timezone),
        "new_start": local_iso(offer.to_start, centre.timezone),
        "centre_name": centre.name, "centre_address": centre.address,
        "centre_city": centre.city, "service": service, "reason": reason,
    }
    if offer.reply_by is not None and not offer.held:
        variables["reply_by"] = local_iso(offer.reply_by, centre.timezone)
    secrets = web.link_secrets
    if secrets:
        variables["reply_code"] = links.reply_code(offer.offer_id, secrets[0])
        if template == "reply_link":
            variables["reply_url"] = reply_url(web, offer, secrets[0])
    name = applicant.name if applicant and applicant.name else offer.booking_id
    return ev.sms_answer(message.id, offer.offer_id, offer.booking_id, offer.centre_id,
                         template, language_of(applicant.language if applicant else None),
                         d.Recipient(name=name, phone=message.sender), variables, now)


def reply_url(web: Web, offer: Offer, secret: str) -> str:
    """The offer's personal link, as the scheduler puts it in the offer's own message."""
    expires = offer.to_start + dt.timedelta(days=web.settings.link_days_after_slot)
    return f"{web.settings.public_url}/r/{links.sign(offer.offer_id, expires, secret)}"
