"""A small read-only ASGI app: health, readiness, metrics and JSON routes, served by uvicorn.

Routes are plain async functions returning (status, content type, body); an optional bearer
token (RESLOT_API_TOKEN) protects everything but the probes. Every answer is `no-store` and
carries a Content-Security-Policy that allows nothing from elsewhere: the status page is
self-contained (inline styles and SVG) and works with no network.
"""

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("reslot.http")

Response = tuple[int, str, bytes]
Handler = Callable[[dict[str, str]], Awaitable[Response]]
Probe = Callable[[], Awaitable[None]]
JSON = "application/json"
OPEN_PATHS = ("/healthz", "/readyz")
SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
     b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
)


def json_response(obj: Any, status: int = 200) -> Response:
    return status, JSON, json.dumps(obj, ensure_ascii=False, default=str).encode()


@dataclass
class StatusApp:
    registry: CollectorRegistry
    probes: dict[str, Probe] = field(default_factory=dict)
    token: str | None = None
    routes: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list)

    def route(self, pattern: str, handler: Handler) -> None:
        self.routes.append((re.compile(f"^{pattern}$"), handler))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return  # no websockets
        status, ctype, body = await self.respond(scope)
        headers = [(b"content-type", ctype.encode()), *SECURITY_HEADERS]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="reslot"'))
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})

    async def respond(self, scope: dict[str, Any]) -> Response:
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            return json_response({"error": "read-only API"}, 405)
        if self.token and path not in OPEN_PATHS and not self._authorised(scope):
            return json_response({"error": "missing or wrong bearer token"}, 401)
        if path == "/healthz":
            return json_response({"status": "ok"})
        if path == "/readyz":
            return await self._ready()
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        for pattern, handler in self.routes:
            match = pattern.match(path)
            if match:
                try:
                    return await handler(match.groupdict())
                except Exception as exc:
                    log.exception("status route %s failed", path)
                    return json_response({"error": type(exc).__name__}, 500)
        return json_response({"error": f"no route {path}"}, 404)

    def _authorised(self, scope: dict[str, Any]) -> bool:
        assert self.token is not None
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
        return hmac.compare_digest(given, f"Bearer {self.token}".encode())

    async def _ready(self) -> Response:
        failed = {}
        for name, probe in self.probes.items():
            try:
                await asyncio.wait_for(probe(), timeout=3)
            except Exception as exc:
                failed[name] = f"{type(exc).__name__}: {exc}"[:200]
        if failed:
            return json_response({"status": "not ready", "failed": failed}, 503)
        return json_response({"status": "ready", "checked": sorted(self.probes)})


async def serve(app: StatusApp, port: int, stop: asyncio.Event, host: str = "0.0.0.0") -> None:
    """Serve on `host`:`port` until `stop` is set."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    # serve() without capture_signals: the caller owns SIGINT/SIGTERM and sets `stop`
    task = asyncio.create_task(server._serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    server.should_exit = True
    await task  # raises if the server could not start


def broker_probe(bootstrap: str) -> Probe:
    """Readiness: the first reachable bootstrap server accepts a TCP connection."""
    async def probe() -> None:
        errors = []
        for server in bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
                writer.close()
                await writer.wait_closed()
                return
            except OSError as exc:
                errors.append(f"{server}: {exc}")
        raise ConnectionError("; ".join(errors))
    return probe
