"""Applying input batches exactly once in effect, whatever Kafka redelivers.

The store's offsets decide what was applied: on assignment each partition is sought to
its stored offset + 1; a batch is trimmed of records already applied, and a batch that
starts past the stored position (a gap) is refused and the partition sought back.
Transient failures (database, broker) are retried here with backoff, never skipped.

Batch k's transaction is written while batch k+1 is parsed and applied in memory (the
database driver works in its own thread); k+1's transaction starts only after k's
committed. A write that fails drops everything not stored: the cache is forgotten and the
partitions sought back to the stored offsets, exactly as after a restart.
"""

import asyncio
import itertools
import logging
import operator
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy.exc import SQLAlchemyError

from services.common.metrics import Metrics
from services.common.runtime import keep_long_lived
from services.scheduler.pipeline import Pipeline, Prepared, Record
from services.scheduler.store.sql import SchedulerStore

log = logging.getLogger("reslot.scheduler")

TRANSIENT = (SQLAlchemyError, OSError, TimeoutError)
TP = tuple[str, int]
_partition_of = operator.attrgetter("topic", "partition")


class Positions(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tracks the applied position of every owned partition; seeks on assignment."""

    def __init__(self, store: SchedulerStore, pipeline: Pipeline) -> None:
        self.store = store
        self.pipeline = pipeline
        self.consumer_of: Callable[[], AIOKafkaConsumer | None] = lambda: None
        self.applied: dict[tuple[str, int], int] = {}  # last applied offset, -1 = none
        self.generation = 0  # changes with every revocation and assignment
        # Waits for the write in flight: stored offsets are read, or given up, only after it.
        self.settle: Callable[[], Awaitable[None]] = _nothing

    def owned_partitions(self) -> set[int]:
        return {p for _, p in self.applied}

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.settle()  # the next owner must find what we applied stored
        self.generation += 1
        for tp in revoked:
            self.applied.pop((tp.topic, tp.partition), None)
        self.pipeline.forget()  # another instance may change these centres now

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.settle()
        self.generation += 1
        tps = [(tp.topic, tp.partition) for tp in assigned]
        stored = await _retry(lambda: self.store.stored_offsets(tps), "read stored offsets")
        for topic, partition in tps:
            self.applied[(topic, partition)] = stored.get((topic, partition), -1)
            self._seek(topic, partition)
        self.pipeline.forget()
        log.info("assigned %d partitions, resuming from stored offsets", len(tps))

    async def resume(self) -> None:
        """Back to the stored offsets of every owned partition (a write was lost)."""
        owned = list(self.applied)
        stored = await _retry(lambda: self.store.stored_offsets(owned), "read stored offsets")
        self.generation += 1
        for topic, partition in owned:
            if (topic, partition) in self.applied:  # not revoked while we read
                self.applied[(topic, partition)] = stored.get((topic, partition), -1)
                self._seek(topic, partition)
        self.pipeline.forget()

    def _seek(self, topic: str, partition: int) -> None:
        consumer = self.consumer_of()
        assert consumer is not None, "partitions assigned before the consumer exists"
        consumer.seek(TopicPartition(topic, partition), self.applied[(topic, partition)] + 1)

    def admit(self, records: Sequence[Record]) -> tuple[list[Record], dict[TP, int]]:
        """Records not yet applied, in order, and the last admitted offset per partition;
        a partition with a gap is sought back and none of its records admitted.

        A fetch hands each partition's records over together and in order: such a run is
        checked at its ends, not record by record.
        """
        admitted: list[Record] = []
        last: dict[TP, int] = {}
        refused: set[TP] = set()
        for tp, group in itertools.groupby(records, key=_partition_of):
            if tp not in self.applied or tp in refused:
                continue  # not ours any more, or already refused
            run = list(group)
            expected = last[tp] + 1 if tp in last else self.applied[tp] + 1
            first, end = run[0].offset, run[-1].offset
            if end - first == len(run) - 1:  # consecutive offsets
                if first > expected:
                    refused.add(tp)
                    log.warning("gap on %s[%d]: got %d, expected %d; seeking back",
                                tp[0], tp[1], first, expected)
                elif end >= expected:
                    admitted += run[expected - first:]  # without what was already applied
                    last[tp] = end
                continue
            for r in run:  # offsets with holes: one by one
                if r.offset < expected:
                    continue
                if r.offset > expected:
                    log.warning("gap on %s[%d]: got %d, expected %d; seeking back",
                                tp[0], tp[1], r.offset, expected)
                    refused.add(tp)
                    break
                admitted.append(r)
                last[tp] = r.offset
                expected += 1
        if refused:
            admitted = [r for r in admitted if (r.topic, r.partition) not in refused]
            for tp in refused:
                last.pop(tp, None)
                self._seek(*tp)
        return admitted, last

    def observe_lag(self, metrics: Metrics, group: str) -> None:
        """Lag per owned partition: the fetch's high watermark minus the stored position.

        The high watermark comes with every fetch response, so this costs no request."""
        consumer = self.consumer_of()
        if consumer is None:
            return
        for (topic, partition), applied in self.applied.items():
            end = consumer.highwater(TopicPartition(topic, partition))
            if end is not None:
                metrics.lag.labels(topic, str(partition), group).set(max(0, end - applied - 1))

    def mark(self, last: Mapping[TP, int]) -> None:
        """The batch admitted up to `last` is applied (and being stored)."""
        self.applied.update(last)


class Applier:
    """Applies batches in order, writing one while the next is applied in memory."""

    def __init__(self, pipeline: Pipeline, positions: Positions, stop: asyncio.Event,
                 on_stored: Callable[[], None] = lambda: None) -> None:
        self.pipeline = pipeline
        self.positions = positions
        self.stop = stop
        self.on_stored = on_stored
        self._writing: asyncio.Task[None] | None = None
        positions.settle = self.settle

    async def apply(self, records: Sequence[Record]) -> int:
        """Apply a batch in memory and start writing it; the number of records admitted.

        The write of the previous batch is awaited first. If it failed, this batch was built
        on changes that are lost: it is dropped, and the partitions read again from the
        stored offsets.
        """
        admitted, last = self.positions.admit(records)
        if not admitted:
            return 0
        generation = self.positions.generation
        prepared = await self._prepare(admitted, last)
        if not await self._written() or self.positions.generation != generation:
            self.pipeline.forget()  # prepared on lost changes, or on partitions since moved
            return 0
        self.positions.mark(last)
        self._writing = asyncio.create_task(self._write(prepared), name="scheduler-write")
        keep_long_lived()  # the batch is in the cache now
        return len(admitted)

    async def settle(self) -> None:
        """Wait for the write in flight, if any; a failed one leaves nothing cached."""
        writing = self._writing
        if writing is None:
            return
        try:
            await asyncio.shield(writing)  # a cancelled waiter leaves the write to finish
        except Exception as exc:  # any failure: what was not stored is read again
            log.warning("the last batch was not stored (%s: %s); it will be read again",
                        type(exc).__name__, exc)
            self.pipeline.forget()

    async def _prepare(self, admitted: Sequence[Record], last: Mapping[TP, int]) -> Prepared:
        delay = 0.2
        while True:
            try:
                return await self.pipeline.prepare(admitted, last)
            except TRANSIENT as exc:
                if self.stop.is_set():
                    raise  # nothing stored: replayed from the stored offsets after restart
                log.warning("store unavailable (%s: %s); retrying in %.1fs",
                            type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _write(self, prepared: Prepared) -> None:
        await self.pipeline.commit(prepared)
        self.on_stored()

    async def _written(self) -> bool:
        """Wait for the previous write; False if it failed (then sought back to the store)."""
        writing = self._writing
        if writing is None:
            return True
        try:
            await asyncio.shield(writing)
        except Exception as exc:
            if self._writing is not writing:
                return False  # seen and handled by another waiter
            self._writing = None
            self.pipeline.forget()
            if isinstance(exc, TRANSIENT):
                log.warning("store unavailable (%s: %s); reading again from the stored offsets",
                            type(exc).__name__, exc)
            else:  # a bug: never commit past it; the batch is read again and fails again
                log.error("writing a batch failed; reading again from the stored offsets",
                          exc_info=exc)
            if not self.stop.is_set():
                await self.positions.resume()
            return False
        if self._writing is writing:
            self._writing = None
        return True


async def _nothing() -> None:
    return None


async def _retry(call: Any, what: str) -> Any:
    delay = 0.2
    while True:
        try:
            return await call()
        except TRANSIENT as exc:
            log.warning("cannot %s (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
