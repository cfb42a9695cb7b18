"""The token bucket lets `rate` sends per second through, after a burst of `burst`."""

import asyncio
import datetime as dt

from services.notifier.ratelimit import Bucket, TokenBucket


class VirtualClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    assert Bucket(0.0, 0.0).refilled(0.5, rate=4.0, burst=10.0) == Bucket(2.0, 0.5)
    assert Bucket(9.0, 0.0).refilled(100.0, rate=4.0, burst=10.0) == Bucket(10.0, 100.0)
    assert Bucket(0.25, 0.0).wait_for_token(rate=4.0) == 0.1875


async def test_sends_beyond_the_burst_wait_for_tokens() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(5.0, clock, burst=5.0)
    for _ in range(5):
        await bucket.acquire()
    assert clock.t == 0.0  # the burst goes at once
    for _ in range(10):
        await bucket.acquire()
    assert abs(clock.t - 2.0) < 1e-9  # ten more at five per second


async def test_concurrent_senders_share_one_bucket() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(10.0, clock, burst=1.0)
    await asyncio.gather(*(bucket.acquire() for _ in range(21)))
    assert abs(clock.t - 2.0) < 1e-9


def test_taking_a_token_without_waiting_says_when_the_next_one_comes() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(4.0, clock, burst=2.0)
    assert bucket.try_acquire()
    assert bucket.try_acquire()
    assert not bucket.try_acquire()  # the burst is spent: no waiting here
    assert bucket.seconds_to_token() == 0.25
    clock.t = 0.25
    assert bucket.seconds_to_token() == 0.0
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
