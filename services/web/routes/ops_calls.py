"""`/ops/calls`: the people a person must call (waiting, declined with "call me", every
message failed, no contact details), as a page, as CSV, and the form that logs a call
(visa.call.logged.v1; `resolved` takes the booking off the list)."""

import re
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web import events as ev
from services.web.calllist import as_csv
from services.web.csrf import FIELD
from services.web.ops import OperatorDep, checked, publish, render
from services.web.wiring import WebDep

router = APIRouter(prefix="/ops/calls", tags=["console"], include_in_schema=False)
ATTEMPT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@router.get("", response_class=HTMLResponse)
async def calls(request: Request, web: WebDep, operator: OperatorDep,
                logged: bool = False) -> HTMLResponse:
    entries = await web.console.call_list()
    return render(request, web, "console/calls.html", {
        "operator": operator, "entries": entries, "logged": logged, "section": "calls",
        # one id per form drawn: a double click on it logs one call, a new visit a new one
        "attempts": {(e.centre_id, e.booking_id): secrets.token_urlsafe(16) for e in entries},
    })


@router.get(".csv")
async def calls_csv(web: WebDep, operator: OperatorDep) -> Response:
    body = as_csv(await web.console.call_list())
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="reslot-call-list.csv"'})


@router.post("/log")
async def log_call(request: Request, web: WebDep, operator: OperatorDep,
                   csrf: Annotated[str, Form(alias=FIELD, max_length=500)],
                   centre_id: Annotated[str, Form(max_length=100)],
                   booking_id: Annotated[str, Form(max_length=200)],
                   attempt: Annotated[str, Form(max_length=64)],
                   outcome: Annotated[Literal["reached", "no_answer", "resolved"], Form()],
                   note: Annotated[str, Form(max_length=500)] = "") -> RedirectResponse:
    checked(request, web, csrf)
    if not ATTEMPT.match(attempt):
        raise HTTPException(422, "a call form from this console is needed")
    await publish(web, ev.call_logged(centre_id, booking_id, attempt, operator, outcome,
                                      note.strip(), web.clock()))
    return RedirectResponse("/ops/calls?logged=true", 303)
