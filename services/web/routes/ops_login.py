"""`/ops/login` and `/ops/logout`: a browser's way into the console. The password is a
console user's own or the console token; the operator is kept in a signed session cookie
that only /ops sees. Wrong passwords count as guesses, like bad reply links."""

import logging
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.web.csrf import FIELD
from services.web.operators import SESSION_KEY, SESSION_VIA
from services.web.ops import SCOPE, checked, render
from services.web.wiring import WebDep, client_of

log = logging.getLogger("reslot.web")
router = APIRouter(prefix="/ops", tags=["console"], include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, web: WebDep) -> HTMLResponse:
    if not web.auth.form_login:
        raise HTTPException(404, "Not Found")
    return render(request, web, "console/login.html", {"failed": False})


@router.post("/login", response_model=None)
async def login(request: Request, web: WebDep,
                name: Annotated[str, Form(max_length=200)],
                password: Annotated[str, Form(max_length=500)],
                csrf: Annotated[str, Form(alias=FIELD, max_length=500)],
                ) -> HTMLResponse | RedirectResponse:
    if not web.auth.form_login:
        raise HTTPException(404, "Not Found")
    checked(request, web, csrf)
    client = client_of(request)
    if web.logins.blocked(client):
        raise HTTPException(429, "too many attempts",
                            headers={"Retry-After": str(web.logins.retry_after_s(client))})
    signed_in = web.auth.login(name, password)
    if signed_in is None:
        web.logins.missed(client)
        log.info("console login refused")
        return render(request, web, "console/login.html", {"failed": True}, 401)
    request.session.clear()
    request.session[SESSION_KEY], request.session[SESSION_VIA] = signed_in
    log.info("console login accepted")
    return RedirectResponse("/ops", 303)


@router.post("/logout")
async def logout(request: Request, web: WebDep,
                 csrf: Annotated[str, Form(alias=FIELD, max_length=500)]) -> RedirectResponse:
    if not web.csrf.valid(request, csrf, SCOPE):
        raise HTTPException(403, "stale form")
    request.session.clear()
    return RedirectResponse("/ops/login" if web.auth.form_login else "/ops", 303)
