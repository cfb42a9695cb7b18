"""What the console's routes share: the operator (or 401 / the login page), its pages
rendered with their CSRF token, its acts published, its words for reason codes."""

import logging
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from schemas.envelope import CloudEvent
from services.web import when
from services.web.notices import Notice
from services.web.wiring import Web, WebDep, client_of

log = logging.getLogger("reslot.web")
SCOPE = "console"  # the CSRF scope of the console's forms
LOGIN = "/ops/login"

REASON_WORDS = {
    "same_day": "same day", "next_days": "a later day", "deadline_kept": "travel date kept",
    "deadline_missed": "after the travel deadline", "moved_again": "moved again",
    "earlier_day": "an earlier day", "from_waiting_list": "placed from the waiting list",
    "restored": "back in its original slot", "applicant_choice": "the applicant's choice",
    "ops_override": "pinned by an operator",
    "no_capacity_in_horizon": "no free slot in the horizon",
    "group_cannot_stay_together": "the family cannot stay together",
}


def operator(request: Request, web: WebDep) -> str:
    """The operator of the request. No console configured: 404. Not signed in: a browser
    asking for a page is sent to the login form, anything else gets 401."""
    if not web.auth.enabled:
        log.info("console refused: no RESLOT_CONSOLE_TOKEN, RESLOT_CONSOLE_USERS or "
                 "RESLOT_CONSOLE_PROXY_HEADER is set")
        raise HTTPException(404, "Not Found")
    client = client_of(request)
    presented = bool(request.headers.get("authorization", "").strip())
    if presented and web.logins.blocked(client):  # before the check: guesses stay blind
        raise HTTPException(429, "too many attempts",
                            headers={"Retry-After": str(web.logins.retry_after_s(client))})
    found = web.auth.operator(request)
    if found:
        return found
    if presented:  # wrong basic or bearer credentials: a guess, as on the login form
        web.logins.missed(client)
        log.info("console credentials refused")
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        raise HTTPException(303, "sign in first", headers={"Location": LOGIN})
    challenge = 'Basic realm="reslot console"' if web.auth.users else 'Bearer realm="reslot"'
    raise HTTPException(401, "console login needed", headers={"WWW-Authenticate": challenge})


OperatorDep = Annotated[str, Depends(operator)]


def checked(request: Request, web: Web, csrf: str) -> None:
    if not web.csrf.valid(request, csrf, SCOPE):
        raise Notice(403, "bad_form")


def render(request: Request, web: Web, template: str, context: dict[str, Any],
           status: int = 200) -> HTMLResponse:
    """A console page with its forms' CSRF token (and the nonce cookie, when new)."""
    issued = web.csrf.issue(request, SCOPE)
    response = web.templates.TemplateResponse(
        request, template, {**context, "csrf": issued.token, "when": when.console,
                            "reason_words": REASON_WORDS}, status_code=status)
    assert isinstance(response, HTMLResponse)
    return web.csrf.keep(response, issued)


async def publish(web: Web, event: CloudEvent[Any]) -> None:
    """An operator's act on visa.ops.v1; 503 when the broker does not take it."""
    try:
        await web.publisher.publish([event])
    except (KafkaError, TimeoutError, RuntimeError) as exc:
        log.error("console act %s not published: %s", event.type, type(exc).__name__)
        raise HTTPException(503, "the broker did not take it: try again") from exc
    log.info("console act published: %s %s", event.type, event.id)
