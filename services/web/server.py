"""Serve an ASGI app with uvicorn until an event is set (the caller owns the signals)."""

import asyncio

import uvicorn
from starlette.types import ASGIApp


async def serve(app: ASGIApp, port: int, stop: asyncio.Event, host: str = "0.0.0.0") -> None:
    """Serve on `host`:`port` until `stop` is set; raise if the server could not start."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                            access_log=False)
    server = uvicorn.Server(config)
    # _serve: serve() would install uvicorn's own SIGINT/SIGTERM handlers over the caller's
    task = asyncio.create_task(server._serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    server.should_exit = True
    await task
