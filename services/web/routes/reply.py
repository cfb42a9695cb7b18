"""`/r/<token>`: the applicant's page, its three answers and the poll of the scheduler's answer.

The page never decides: it checks the link, the form and that the slot chosen is allowed
now, publishes the answer (ids derived: a double click publishes the same event) and shows
what the scheduler made of it. A form answers 303 to the page (it works without a script);
the page's script posts the same form asking for JSON and polls `/answer` instead.
"""

import logging
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from schemas.envelope import CloudEvent
from services.web import events as ev
from services.web.csrf import FIELD
from services.web.models import ReplyAnswer, ReplySent
from services.web.notices import Notice
from services.web.reply_flow import SCOPE, OfferIdDep, event_param, page
from services.web.rows import Offer
from services.web.wiring import Web, WebDep

log = logging.getLogger("reslot.web")
router = APIRouter(prefix="/r", tags=["replies"])
CsrfField = Annotated[str, Form(alias=FIELD, max_length=500)]
Event = Annotated[str | None, Query(max_length=64)]


@router.get("/{token}", response_class=HTMLResponse, operation_id="reply_page",
            summary="The applicant's page for one offer (HTML, in the booking's language)")
async def reply_page(token: str, offer_id: OfferIdDep, request: Request, web: WebDep,
                     event: Event = None, taken: bool = False) -> HTMLResponse:
    return await page(request, web, token, offer_id, event_param(event), taken=taken)


@router.get("/{token}/answer", operation_id="reply_answer",
            summary="The scheduler's answer to one reply the page sent")
async def reply_answer(token: str, offer_id: OfferIdDep, web: WebDep,
                       event: Annotated[str, Query(max_length=64)]) -> ReplyAnswer:
    event_id = event_param(event)
    outcome = await web.replies.outcome(event_id) if event_id else None
    url = f"/r/{token}?event={event_id}" if event_id else f"/r/{token}"
    if outcome is None or outcome.offer_id != offer_id:
        return ReplyAnswer(state="pending", reason="", page=url)
    state: Literal["accepted", "refused"] = (
        "accepted" if outcome.outcome == "accepted" else "refused")
    return ReplyAnswer(state=state, reason=outcome.reason, page=url)


@router.post("/{token}/confirm", operation_id="reply_confirm", response_model=ReplySent,
             summary="Confirm the new time")
async def confirm(token: str, offer_id: OfferIdDep, request: Request, web: WebDep,
                  csrf: CsrfField) -> Response:
    offer = await _answerable(request, web, offer_id, csrf)
    if offer is None:
        return _sent(request, token, None)
    return await _publish(request, web, token, ev.confirmed(offer.key, web.clock()))


@router.post("/{token}/decline", operation_id="reply_decline", response_model=ReplySent,
             summary="Cancel the appointment, or ask to be called")
async def decline(token: str, offer_id: OfferIdDep, request: Request, web: WebDep,
                  csrf: CsrfField,
                  wants: Annotated[Literal["cancel", "call_me"], Form()]) -> Response:
    offer = await _answerable(request, web, offer_id, csrf)
    if offer is None:
        return _sent(request, token, None)
    return await _publish(request, web, token, ev.declined(offer.key, wants, web.clock()))


@router.post("/{token}/change", operation_id="reply_change", response_model=ReplySent,
             summary="Choose another time among those allowed now")
async def change(token: str, offer_id: OfferIdDep, request: Request, web: WebDep,
                 csrf: CsrfField, slot: Annotated[str, Form(max_length=64)]) -> Response:
    offer = await _answerable(request, web, offer_id, csrf)
    if offer is None:
        return _sent(request, token, None)
    start = ev.parse_time(slot)
    case = await web.replies.case(offer.centre_id, offer.booking_id)
    if start is None or case is None or \
            await web.replies.refusal(case, start, web.clock()) is not None:
        # taken since the page was drawn (or never offered): say so, with fresh choices
        if _wants_json(request):
            return _json(ReplySent(event_id=None, answer=None, page=f"/r/{token}?taken=true"))
        return await page(request, web, token, offer_id, taken=True, status=409)
    return await _publish(request, web, token, ev.changed(offer.key, start, web.clock()))


async def _answerable(request: Request, web: Web, offer_id: str, csrf: str) -> Offer | None:
    """The offer, when a reply to it makes sense now; None to just show what stands."""
    if not web.csrf.valid(request, csrf, SCOPE):
        raise Notice(403, "bad_form")
    offer = await web.replies.offer(offer_id)
    return offer if offer is not None and offer.answerable(web.clock()) else None


async def _publish(request: Request, web: Web, token: str,
                   event: CloudEvent[Any]) -> Response:
    try:
        await web.publisher.publish([event])
    except (KafkaError, TimeoutError, RuntimeError) as exc:
        log.error("reply %s not published: %s", event.type, type(exc).__name__)
        if _wants_json(request):
            return _json(ReplySent(event_id=None, answer=None, page=f"/r/{token}"), 503)
        return await page(request, web, token, event.data.offer_id, failed=True, status=503)
    log.info("reply published: %s %s", event.type, event.id)
    return _sent(request, token, event.id)


def _sent(request: Request, token: str, event_id: str | None) -> Response:
    url = f"/r/{token}?event={event_id}" if event_id else f"/r/{token}"
    if _wants_json(request):
        answer = f"/r/{token}/answer?event={event_id}" if event_id else None
        return _json(ReplySent(event_id=event_id, answer=answer, page=url))
    return RedirectResponse(url, 303)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _json(answer: ReplySent, status: int = 200) -> JSONResponse:
    return JSONResponse(answer.model_dump(), status)
