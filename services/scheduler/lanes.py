"""Lanes: the owned partitions split into groups applied concurrently, so that a long plan
(a 20,000-displaced outage solving for seconds) holds up only the centres of its lane,
never an applicant's reply at a centre of another partition.

Partition p belongs to lane p mod `lanes`. Each lane is its own write path: its own cache
of centres (a Pipeline), its own Writer and Applier, applying its records one batch after
another; a centre is changed only from its owner partition (ownership.py), so only by one
lane: one writer per centre. What holds per partition holds per lane unchanged: stored
offsets and fencing epochs are per partition, and the outbox rows of a partition are
written in order by its one lane. A lane's failed write sends only its partitions back to
the stored offsets (Positions.stamp tells each lane whether its partitions moved).

The fetch loop (Consumption) hands each lane the records of its partitions; a lane with a
full batch waiting has its partitions paused until it takes it, so a busy lane holds no
more than one batch in memory. Each lane also runs the timeout tick for its centres every
`tick_s` seconds of the injected clock.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.common.clock import Clock
from services.common.metrics import Metrics
from services.common.retry import until_done
from services.scheduler.consumer import GROUP, RESUMED, Applier
from services.scheduler.parsing import Record
from services.scheduler.positions import TRANSIENT, Positions

log = logging.getLogger("reslot.scheduler")


class Lane:
    """The partitions p with p mod (number of lanes) == `index`, applied one batch after
    another (the applier knows which)."""

    def __init__(self, index: int, applier: Applier, positions: Positions, clock: Clock,
                 max_records: int, tick_s: float) -> None:
        self.index = index
        self.applier = applier
        self.positions = positions
        self.clock = clock
        self.max_records = max_records
        self.tick_s = tick_s
        self.pending: list[Record] = []
        self.wake = asyncio.Event()

    def partitions(self) -> set[int]:
        return self.applier.partitions()

    @property
    def backlogged(self) -> bool:
        return len(self.pending) >= self.max_records

    def take(self, records: Sequence[Record]) -> None:
        self.pending += records
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: the records handed over, and a tick whenever one is due; the batch
        in hand is applied (and its write begun) first."""
        next_tick = self.clock.monotonic()  # at once: timeouts missed while stopped
        while not stop.is_set():
            if self.clock.monotonic() >= next_tick:  # first: a busy lane still answers
                await self._guarded(self.applier.tick(self.clock.now()), stop)
                next_tick = self.clock.monotonic() + self.tick_s
            elif self.pending:
                batch, self.pending = (self.pending[:self.max_records],
                                       self.pending[self.max_records:])
                await self._guarded(self.applier.apply(batch), stop)
            else:
                await self._idle(next_tick)

    async def _idle(self, until: float) -> None:
        """Until records are handed over, or the next tick."""
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), max(0.0, until - self.clock.monotonic()))

    async def _guarded(self, step: Awaitable[int], stop: asyncio.Event) -> None:
        try:
            await step
        except TRANSIENT:
            if not stop.is_set():
                raise
            log.info("stopping while the store is unavailable: the batch is read again later")
        except Exception:  # a bug in applying: never past it, and not in a hot loop
            log.exception("lane %d: applying failed; %s", self.index, RESUMED)
            self.applier.pipeline.forget()
            await self.applier.writer.settle()  # the stored offsets are those after it
            await self.positions.resume(self.partitions())
            await asyncio.sleep(1.0)


class Consumption:
    """The fetch loop: what Kafka hands over, up to `max_records` at a time, to the lanes."""

    def __init__(self, consumer: AIOKafkaConsumer, lanes: Sequence[Lane],
                 positions: Positions, metrics: Metrics, max_records: int) -> None:
        self.consumer = consumer
        self.lanes = list(lanes)
        self.positions = positions
        self.metrics = metrics
        self.max_records = max_records

    def lane_of(self, partition: int) -> Lane:
        return self.lanes[partition % len(self.lanes)]

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; each lane finishes the batch in hand (and begins its write)."""
        workers = [asyncio.create_task(lane.run(stop), name=f"scheduler-lane-{lane.index}")
                   for lane in self.lanes]
        try:
            await self._fetch(stop, workers)
        except BaseException:  # a lane failed, or cancelled past the graceful timeout
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        for lane in self.lanes:
            lane.wake.set()
        for failure in await asyncio.gather(*workers, return_exceptions=True):
            if isinstance(failure, BaseException):
                raise failure

    async def _fetch(self, stop: asyncio.Event, workers: list[asyncio.Task[None]]) -> None:
        while not stop.is_set():
            for w in workers:
                if w.done():  # a lane never ends before the stop: its error ends the loop
                    w.result()
                    raise RuntimeError(f"{w.get_name()} ended before the stop")
            self._pause_backlogged()
            try:
                fetched = await until_done(
                    lambda: self.consumer.getmany(timeout_ms=100, max_records=self.max_records),
                    "fetch", (KafkaError,), log, give_up=stop)
            except KafkaError:
                return  # stopping while the broker is unreachable: nothing in hand
            for tp, records in fetched.items():
                if records:
                    self.lane_of(tp.partition).take(records)
            self.positions.observe_lag(self.metrics, GROUP)

    def _pause_backlogged(self) -> None:
        """Fetch nothing more for a lane that has a full batch waiting."""
        assigned: set[TopicPartition] = self.consumer.assignment()
        full = {tp for tp in assigned if self.lane_of(tp.partition).backlogged}
        paused: set[TopicPartition] = self.consumer.paused()
        if full - paused:
            self.consumer.pause(*(full - paused))
        if paused - full:
            self.consumer.resume(*(paused - full))
