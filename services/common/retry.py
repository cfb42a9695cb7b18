"""The one way Reslot waits out a store or a broker that is down: tenacity, with backoff.

Transient failures (a database restarting, a broker election) are retried with capped
exponential backoff and a log line each time, never skipped; anything else propagates.
`give_up` lets a caller that is shutting down stop retrying (the work is replayed later).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_never,
    stop_when_event_set,
    wait_exponential,
)

T = TypeVar("T")
Transient = tuple[type[BaseException], ...]


def retrying(what: str, transient: Transient, log: Any, *, first_s: float = 0.2,
             cap_s: float = 10.0, give_up: asyncio.Event | None = None) -> AsyncRetrying:
    """Retries `transient` failures of `what` until they stop, or until `give_up` is set
    (then the last failure is raised). `log`: a stdlib or structlog logger."""

    def logged(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(f"cannot {what} ({type(exc).__name__}: {exc}); retrying in {delay:.1f}s")

    return AsyncRetrying(
        retry=retry_if_exception_type(transient),
        wait=wait_exponential(multiplier=first_s, min=first_s, max=cap_s),
        stop=stop_never if give_up is None else stop_when_event_set(give_up),  # type: ignore[arg-type]
        before_sleep=logged,
        reraise=True,
    )


async def until_done(call: Callable[[], Awaitable[T]], what: str, transient: Transient,
                     log: Any, *, first_s: float = 0.2, cap_s: float = 10.0,
                     give_up: asyncio.Event | None = None) -> T:
    """`await call()` until it succeeds, retrying transient failures (see `retrying`)."""
    async for attempt in retrying(what, transient, log, first_s=first_s, cap_s=cap_s,
                                  give_up=give_up):
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity returns or re-raises")
