"""The steps every route of the applicant's page shares: the link checked (and guesses
counted), the page put together from the store as it is now."""

import logging
import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from services.common import links
from services.web import reply_view as rv
from services.web.notices import Notice
from services.web.rows import Offer
from services.web.texts import TEXTS, language_of
from services.web.wiring import Web, WebDep, client_of

log = logging.getLogger("reslot.web")
MAX_TOKEN = 100
SCOPE = "reply"  # the CSRF scope of the applicant's forms


def verified(token: str, request: Request, web: WebDep) -> str:
    """The offer id the link names: 404 when links are off, 403 for a link we did not sign
    (a guess: counted), 429 instead once an address has made too many, 410 once expired.

    A link we signed is never refused for its address's guesses: many applicants share one
    address behind a proxy or a carrier's NAT, and junk links from one of them must not lock
    the others out. Guessing a 96-bit MAC is hopeless anyway; the limit spares the store."""
    secrets = web.link_secrets
    if not secrets:
        log.info("reply link refused: reply links are off (RESLOT_LINK_SECRETS is not set)")
        raise HTTPException(404, "Not Found")
    try:
        if len(token) > MAX_TOKEN:
            raise links.BadLink("too long")
        return links.verify(token, secrets, web.clock())
    except links.ExpiredLink as exc:
        raise Notice(410, "expired") from exc
    except links.BadLink as exc:
        client = client_of(request)
        if web.guesses.blocked(client):
            raise Notice(429, "too_many", web.guesses.retry_after_s(client)) from exc
        web.guesses.missed(client)
        log.info("reply link refused: not signed by us")
        raise Notice(403, "bad_link") from exc


OfferIdDep = Annotated[str, Depends(verified)]


def event_param(event: str | None) -> str | None:
    """An event id the page was opened on: one of ours is a uuid, anything else is ignored."""
    if not event:
        return None
    try:
        return str(uuid.UUID(event))
    except ValueError:
        return None


async def page(request: Request, web: Web, token: str, offer_id: str,
               event: str | None = None, taken: bool = False, failed: bool = False,
               status: int = 200) -> HTMLResponse:
    """The applicant's page for the offer, as the store has it now; `event`: an answer the
    page sent, whose outcome it shows; `taken`: a slot refused before publishing;
    `failed`: the answer could not be published."""
    reads = web.replies
    offer = await reads.offer(offer_id)
    said_instead = None
    if offer is None:
        offer = await reads.changed_into(offer_id)
        if offer is None:  # a later decision replaced it: its booking is not named here
            raise Notice(200, "superseded")
        centre = await reads.centre(offer.centre_id)
        assert centre is not None
        applicant = await reads.applicant(offer.centre_id, offer.booking_id)
        said_instead = rv.changed_to(offer, language_of(applicant.language if applicant else None),
                                     centre)
    return await _render(request, web, token, offer, said_instead, event, taken, failed,
                         status)


async def _render(request: Request, web: Web, token: str, offer: Offer,
                  said: rv.Said | None, event: str | None, taken: bool, failed: bool,
                  status: int) -> HTMLResponse:
    reads, now = web.replies, web.clock()
    centre = await reads.centre(offer.centre_id)
    assert centre is not None, "an offer at a centre the store does not know"
    case = await reads.case(offer.centre_id, offer.booking_id)
    applicant = case.applicant if case else await reads.applicant(offer.centre_id,
                                                                   offer.booking_id)
    lang = language_of(applicant.language if applicant else None)
    pending = None
    if said is None:
        said = rv.standing(offer, now, lang, centre)
        if event is not None:
            outcome = await reads.outcome(event)
            if outcome is None or outcome.offer_id == offer.offer_id:
                said = rv.answered(outcome, said, lang)
                pending = event if outcome is None else None
        if taken and said is None:
            said = rv.Said(TEXTS[lang]["slot_taken"], "warn", True)
        if failed:
            said = rv.Said(TEXTS[lang]["failed"], "warn", True)
    slots = []
    if case is not None and (said is None or said.actions):
        slots = await reads.allowed(case, now, web.settings.alternatives)
    movers = reads.movers(case) if case is not None else None
    issued = web.csrf.issue(request, SCOPE)
    shown = rv.view(offer, centre, lang, token, issued.token,
                    movers is not None and len(movers.starts) > 1, said, slots, pending)
    response = web.templates.TemplateResponse(
        request, "reply/page.html", {"view": shown, "lang": lang, "rtl": shown.rtl},
        status_code=status)
    assert isinstance(response, HTMLResponse)
    return web.csrf.keep(response, issued)
