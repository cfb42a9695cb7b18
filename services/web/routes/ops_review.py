"""`/ops`: plans held for review, shown as drafts with every decision and its reason (times
in the centre's local time); Approve publishes visa.plan.approved.v1 and the scheduler then
sends their messages."""

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.web import events as ev
from services.web.csrf import FIELD
from services.web.ops import OperatorDep, checked, publish, render
from services.web.wiring import WebDep

router = APIRouter(prefix="/ops", tags=["console"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def review(request: Request, web: WebDep, operator: OperatorDep,
                 approved: str | None = None) -> HTMLResponse:
    plans = await web.console.held_plans()
    answers = await web.console.answers()
    return render(request, web, "console/review.html", {
        "operator": operator, "plans": plans, "answers": answers, "sent": approved,
        "section": "review"})


@router.post("/plans/{plan_id}/approve")
async def approve(plan_id: str, request: Request, web: WebDep, operator: OperatorDep,
                  csrf: Annotated[str, Form(alias=FIELD, max_length=500)]) -> RedirectResponse:
    checked(request, web, csrf)
    held = {p.plan_id: p for p in await web.console.held_plans()}
    plan = held.get(plan_id)
    if plan is None:
        raise HTTPException(404, "no plan held for review with this id")
    await publish(web, ev.approved(plan_id, plan.centre.centre_id, operator, web.clock()))
    return RedirectResponse(f"/ops?approved={plan_id}#plan-{plan_id}", 303)
