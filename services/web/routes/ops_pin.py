"""`/ops/pin/<centre>/<booking>`: place one displaced or waiting booking (with its family) in
a slot an operator chooses. The slots shown are those every hard rule allows for the
family now (choice.alternatives); a slot typed in is checked with the same rule
(choice.refusal) before anything is published, and refused with the rule in words."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web import events as ev
from services.web.csrf import FIELD
from services.web.ops import OperatorDep, checked, publish, render
from services.web.readreplies import Case
from services.web.reply_flow import event_param
from services.web.wiring import Web, WebDep

router = APIRouter(prefix="/ops/pin", tags=["console"], include_in_schema=False)
SHOWN = 20  # allowed slots listed for an operator
REFRESH_S = 2


async def _case(web: Web, centre_id: str, booking_id: str) -> Case:
    case = await web.replies.case(centre_id, booking_id)
    if case is None or not case.booking.displaced:
        raise HTTPException(404, "no displaced or waiting booking with this id")
    return case


async def _page(request: Request, web: Web, operator: str, case: Case, *,
                refused: str | None = None, event: str | None = None,
                status: int = 200) -> HTMLResponse:
    now = web.clock()
    outcome = await web.replies.outcome(event) if event else None
    if outcome is not None and outcome.offer_id != case.booking.booking_id:
        outcome, event = None, None
    allowed = await web.replies.allowed(case, now, SHOWN) if outcome is None else []
    return render(request, web, "console/pin.html", {
        "operator": operator, "case": case, "tz": case.centre.timezone, "allowed": allowed,
        "movers": web.replies.movers(case), "refused": refused, "event": event,
        "outcome": outcome, "refresh_s": REFRESH_S, "section": "calls"}, status)


@router.get("/{centre_id}/{booking_id}", response_class=HTMLResponse)
async def pin_form(centre_id: str, booking_id: str, request: Request, web: WebDep,
                   operator: OperatorDep,
                   event: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    case = await _case(web, centre_id, booking_id)
    return await _page(request, web, operator, case, event=event_param(event))


@router.post("/{centre_id}/{booking_id}", response_model=None)
async def pin(centre_id: str, booking_id: str, request: Request, web: WebDep,
              operator: OperatorDep, csrf: Annotated[str, Form(alias=FIELD, max_length=500)],
              slot: Annotated[str, Form(max_length=64)] = "",
              local: Annotated[str, Form(max_length=64)] = "") -> Response:
    checked(request, web, csrf)
    case = await _case(web, centre_id, booking_id)
    start = _start(slot, local, case)
    if start is None:
        return await _page(request, web, operator, case, status=422,
                           refused="choose a slot, or type a local date and time")
    rule = await web.replies.refusal(case, start, web.clock())
    if rule is not None:
        return await _page(request, web, operator, case, refused=rule, status=409)
    event = ev.pinned(centre_id, booking_id, case.standing.plan_id, start, operator,
                      web.clock())
    await publish(web, event)
    return RedirectResponse(f"/ops/pin/{centre_id}/{booking_id}?event={event.id}", 303)


def _start(slot: str, local: str, case: Case) -> dt.datetime | None:
    """The slot chosen: one listed (its UTC start), else a local time typed in the form."""
    if slot:
        return ev.parse_time(slot)
    if local:
        return ev.parse_time(local, case.centre.tz)
    return None
