"""A token bucket per channel: at most `rate` sends per second, bursts up to `burst`."""

import asyncio
from dataclasses import dataclass

from services.common.clock import Clock

_EPSILON = 1e-9


@dataclass(frozen=True)
class Bucket:
    """Pure state of a bucket: tokens available at monotonic time `at`."""

    tokens: float
    at: float

    def refilled(self, now: float, rate: float, burst: float) -> "Bucket":
        return Bucket(min(burst, self.tokens + max(0.0, now - self.at) * rate), now)

    def wait_for_token(self, rate: float) -> float:
        """Seconds until one whole token is there (0 when it already is)."""
        return max(0.0, (1.0 - self.tokens) / rate)


class TokenBucket:
    def __init__(self, rate_per_s: float, clock: Clock, burst: float | None = None) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate_per_s
        self.burst = burst if burst is not None else max(1.0, rate_per_s)
        self._clock = clock
        self._bucket = Bucket(self.burst, clock.monotonic())
        self._lock = asyncio.Lock()  # waiters take tokens in arrival order

    def try_acquire(self) -> bool:
        """Take a token if one is there now and nobody waits for one; never waits."""
        if self._lock.locked():
            return False  # waiters go first
        self._bucket = self._bucket.refilled(self._clock.monotonic(), self.rate, self.burst)
        if self._bucket.tokens < 1.0 - _EPSILON:
            return False
        self._bucket = Bucket(max(0.0, self._bucket.tokens - 1.0), self._bucket.at)
        return True

    def seconds_to_token(self) -> float:
        """How long until a token is there (0 when one is)."""
        now = self._clock.monotonic()
        return self._bucket.refilled(now, self.rate, self.burst).wait_for_token(self.rate)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._bucket = self._bucket.refilled(self._clock.monotonic(), self.rate, self.burst)
                if self._bucket.tokens >= 1.0 - _EPSILON:  # rounding must not starve a waiter
                    self._bucket = Bucket(max(0.0, self._bucket.tokens - 1.0), self._bucket.at)
                    return
                await self._clock.sleep(self._bucket.wait_for_token(self.rate))
