"""What every answer carries, the bearer token and the errors' shape.

Every answer is `no-store` and carries a Content-Security-Policy that allows nothing from
elsewhere and no inline style or script: the pages' CSS and the reply page's one script
are files Reslot serves itself; forms post only to Reslot; the status page's charts are
SVG elements and it reloads itself without a script.
"""

import hmac
import logging
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web.models import Error

log = logging.getLogger("reslot.web")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
)
HEADER_NAMES = frozenset(name for name, _ in HEADERS)
UNAUTHORISED = "missing or wrong bearer token"
bearer = HTTPBearer(scheme_name="bearer", auto_error=False,
                    description="RESLOT_API_TOKEN, when it is set.")


class SecurityHeaders:
    """ASGI middleware: HEADERS on every HTTP answer, whoever produced it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in HEADER_NAMES]
                message = {**message, "headers": [*kept, *HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


class HeadAsGet:
    """ASGI middleware: HEAD answered as GET without the body (FastAPI routes are GET only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def token_guard(token: SecretStr | None) -> Callable[..., Awaitable[None]]:
    """A dependency refusing requests without `Authorization: Bearer <token>` (compared in
    constant time); with no token configured it lets everything through."""
    expected = f"Bearer {token.get_secret_value()}".encode() if token else None

    async def guard(request: Request,
                    _: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        if expected is None:
            return
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise HTTPException(401, UNAUTHORISED,
                                headers={"WWW-Authenticate": 'Bearer realm="reslot"'})

    return guard


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """{"error": ...} for 401, 404, 405 and the like; a GET route allows HEAD too."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if "Allow" in headers and "GET" in headers["Allow"].split(", "):
        headers["Allow"] = ", ".join(sorted({*headers["Allow"].split(", "), "HEAD"}))
    return JSONResponse(Error(error=str(exc.detail)).model_dump(), exc.status_code,
                        headers=headers)


def route_of(request: Request) -> str:
    """The route's template (/r/{token}), never the path itself: a reply page's path is the
    applicant's link, and whoever reads the logs could answer for them with it."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "(no route)"


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    """A failure inside a route: logged with its traceback, answered with its class only.
    This answer leaves through Starlette's outermost layer, so it carries HEADERS itself."""
    log.error("%s %s failed", request.method, route_of(request), exc_info=exc)
    response = JSONResponse(Error(error=type(exc).__name__).model_dump(), 500)
    for name, value in HEADERS:
        response.headers[name.decode()] = value.decode()
    return response
