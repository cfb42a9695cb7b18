"""The ready queue: the deliveries in this instance's hands, and which may be attempted now.

Deliveries are attempted in the order they became ready, as far as two bounds allow: a
token bucket per channel (the provider's rate limit; a channel out of tokens does not hold
up the other) and `max_in_flight` places, each held from an attempt being counted until its
outcome is recorded: that bounds what a crash can send twice. Each channel holds at most its
share of the places, so a provider that hangs (its sends held until their timeout) does not
hold up the other channel: e-mails waited minutes behind a backlog of SMS to a silent gateway.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from services.notifier.dispatcher.jobs import Job
from services.notifier.domain.model import CHANNELS, Channel, DeliveryKey
from services.notifier.metrics import NotifierMetrics
from services.notifier.ratelimit import TokenBucket


class ReadyQueue:
    def __init__(
        self, limits: Mapping[Channel, TokenBucket], max_in_flight: int, metrics: NotifierMetrics
    ) -> None:
        self._limits = limits
        self._free = max_in_flight  # places between counted and recorded
        self._share = max(1, -(-max_in_flight // len(CHANNELS)))  # most one channel holds
        self._held: dict[Channel, int] = dict.fromkeys(CHANNELS, 0)
        self._metrics = metrics
        self._jobs: dict[DeliveryKey, Job] = {}
        self._ready: dict[Channel, deque[Job]] = {c: deque() for c in CHANNELS}
        self._readied = 0  # jobs made ready so far: their order
        self._timers: dict[DeliveryKey, asyncio.TimerHandle] = {}
        self._changed = asyncio.Event()  # a job ready, or a place free
        self.sending = 0  # sends on the wire now

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, key: DeliveryKey) -> bool:
        return key in self._jobs

    def holds(self, job: Job) -> bool:
        """Whether `job` is still in hand (not replaced by a newer job of its key)."""
        return self._jobs.get(job.key) is job

    def add(self, job: Job) -> bool:
        """Take `job` in hand; False if its delivery is already."""
        if job.key in self._jobs:
            return False
        self._jobs[job.key] = job
        self._metrics.in_flight.set(len(self._jobs))
        return True

    def push(self, job: Job) -> None:
        """`job` may be attempted now: behind those ready before it."""
        self._readied += 1
        job.seq = self._readied
        self._ready[job.key.channel].append(job)
        self._changed.set()

    def later(self, job: Job, seconds: float, due: Callable[[Job], None]) -> None:
        """Call `due(job)` in `seconds`, if `job` is still in hand then."""

        def fire() -> None:
            self._timers.pop(job.key, None)
            if self.holds(job):
                due(job)

        self._timers[job.key] = asyncio.get_running_loop().call_later(seconds, fire)

    def take(self) -> list[Job]:
        """Ready deliveries in the order they became ready, each given a place and a token,
        while places last. Whatever changes after this wakes the next `wait`."""
        self._changed.clear()
        group: list[Job] = []
        while self._free > 0:
            heads = sorted((q[0].seq, c) for c, q in self._ready.items()
                           if q and self._held[c] < self._share)
            channel = next((c for _, c in heads if self._limits[c].try_acquire()), None)
            if channel is None:
                return group
            job = self._ready[channel].popleft()
            job.slot = True
            self._free -= 1
            self._held[channel] += 1
            group.append(job)
        return group

    def put_back(self, jobs: Iterable[Job]) -> None:
        """Jobs taken but not attempted: first in line again, their places freed."""
        for job in reversed(list(jobs)):
            self.release(job)
            self._ready[job.key.channel].appendleft(job)

    def release(self, job: Job) -> None:
        """`job`'s place is free again (its outcome is recorded, or it was not attempted)."""
        if job.slot:
            job.slot = False
            self._free += 1
            self._held[job.key.channel] -= 1
            self._changed.set()

    def forget(self, job: Job) -> None:
        """`job` leaves this instance's hands (its row stays as stored)."""
        self.release(job)
        if self.holds(job):
            del self._jobs[job.key]
        timer = self._timers.pop(job.key, None)
        if timer is not None:
            timer.cancel()
        self._metrics.in_flight.set(len(self._jobs))

    async def wait(self) -> None:
        """Until a job may be ready to take: one pushed, a place freed, or the next token of
        a channel with jobs waiting; call it after `take`."""
        waiting = [c for c in CHANNELS if self._ready[c] and self._held[c] < self._share]
        if waiting and self._free > 0:  # out of tokens: until the next one, or news
            next_token_s = min(self._limits[c].seconds_to_token() for c in waiting)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), next_token_s)
        else:
            await self._changed.wait()

    def wake(self) -> None:
        self._changed.set()

    def close(self) -> None:
        """Cancel every timer: nothing comes due any more."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
