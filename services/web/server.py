"""Serve an ASGI app with uvicorn until an event is set (the caller owns the signals)."""

import asyncio
from collections.abc import Awaitable

import uvicorn
from starlette.types import ASGIApp


async def serve(app: ASGIApp, port: int, stop: asyncio.Event, host: str = "0.0.0.0") -> None:
    """Serve on `host`:`port` until `stop` is set, running the app's lifespan (the web
    front's producer starts and stops with it); raise if the server could not start."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                            access_log=False)  # access lines would log the reply tokens
    server = uvicorn.Server(config)
    # _serve: serve() would install uvicorn's own SIGINT/SIGTERM handlers over the caller's
    task = asyncio.create_task(server._serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    server.should_exit = True
    try:
        await task
    except SystemExit as exc:  # uvicorn exits when the lifespan's startup fails
        raise RuntimeError("the web front did not start (see the log above)") from exc
    if not server.started and not stop.is_set():
        raise RuntimeError(f"the web server did not start on port {port} (see the log above)")


async def serve_beside(service: Awaitable[None], app: ASGIApp, port: int,
                       stop: asyncio.Event) -> None:
    """Run `service` and serve `app` beside it until `stop`. Whichever ends first, or fails,
    sets `stop`, so the other ends in order (a server cancelled mid-start logged a page of
    traceback over the one line that says why the service could not start); then the first
    failure is raised."""
    async def then_stop(part: Awaitable[None]) -> None:
        try:
            await part
        finally:
            stop.set()

    results = await asyncio.gather(then_stop(service), then_stop(serve(app, port, stop)),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
