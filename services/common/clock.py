"""Time as a service sees it, injected so that tests (and demos) decide what "now" is.

Every service reads the time through a Clock given to its composition root: nothing that
decides reads the wall clock itself, so a test at 02:00 behaves as one at 14:00.
"""

import asyncio
import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (rate limiting, elapsed time)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ShiftedClock(SystemClock):
    """Real time running from another starting instant, e.g. 07:59:58 in Algiers."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs a timezone-aware start")
        self._start = start.astimezone(dt.UTC)
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)

    def advance(self, delta: dt.timedelta) -> None:
        """Move this clock forward by `delta` at once (a demo, or a test, skipping a night)."""
        self._start += delta
