"""Readiness probes: each an async call that raises when its dependency does not answer."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from services.web.models import Ready

Probe = Callable[[], Awaitable[None]]
PROBE_TIMEOUT_S = 3.0


def broker_probe(bootstrap: str) -> Probe:
    """The first reachable bootstrap server accepts a TCP connection."""
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


def database_probe(engine: AsyncEngine) -> Probe:
    """The database answers a trivial query."""
    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    return probe


async def readiness(probes: Mapping[str, Probe]) -> Ready:
    """Every probe, each within PROBE_TIMEOUT_S; what failed and why (a short line each)."""
    failed = {}
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), timeout=PROBE_TIMEOUT_S)
        except Exception as exc:  # any failure means "not ready"; it is reported, not hidden
            failed[name] = f"{type(exc).__name__}: {exc}"[:200]
    if failed:
        return Ready(status="not ready", failed=failed)
    return Ready(status="ready", checked=sorted(probes))
