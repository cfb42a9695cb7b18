"""Applying input batches exactly once in effect, whatever Kafka redelivers.

The store's offsets decide what was applied: on assignment each partition is sought to
its stored offset + 1; a batch is trimmed of records already applied, and a batch that
starts past the stored position (a gap) is refused and the partition sought back.
Transient failures (database, broker) are retried here with backoff, never skipped.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy.exc import SQLAlchemyError

from services.common.metrics import Metrics
from services.scheduler.pipeline import Pipeline, Record
from services.scheduler.store.sql import SchedulerStore

log = logging.getLogger("reslot.scheduler")

TRANSIENT = (SQLAlchemyError, OSError, TimeoutError)


class Positions(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tracks the applied position of every owned partition; seeks on assignment."""

    def __init__(self, store: SchedulerStore, pipeline: Pipeline) -> None:
        self.store = store
        self.pipeline = pipeline
        self.consumer_of: Callable[[], AIOKafkaConsumer | None] = lambda: None
        self.applied: dict[tuple[str, int], int] = {}  # last applied offset, -1 = none

    def owned_partitions(self) -> set[int]:
        return {p for _, p in self.applied}

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            self.applied.pop((tp.topic, tp.partition), None)
        self.pipeline.forget()  # another instance may change these centres now

    async def on_partitions_assigned(self, assigned: Any) -> None:
        tps = [(tp.topic, tp.partition) for tp in assigned]
        stored = await _retry(lambda: self.store.stored_offsets(tps), "read stored offsets")
        for topic, partition in tps:
            self.applied[(topic, partition)] = stored.get((topic, partition), -1)
            self._seek(topic, partition)
        self.pipeline.forget()
        log.info("assigned %d partitions, resuming from stored offsets", len(tps))

    def _seek(self, topic: str, partition: int) -> None:
        consumer = self.consumer_of()
        assert consumer is not None, "partitions assigned before the consumer exists"
        consumer.seek(TopicPartition(topic, partition), self.applied[(topic, partition)] + 1)

    def admit(self, records: Sequence[Record]) -> list[Record]:
        """Records not yet applied, in order; a partition with a gap is sought back."""
        admitted, refused = [], set()
        expected = {tp: off + 1 for tp, off in self.applied.items()}
        for r in records:
            tp = (r.topic, r.partition)
            if tp not in expected or tp in refused or r.offset < expected[tp]:
                continue  # not ours any more, or already applied
            if r.offset > expected[tp]:
                log.warning("gap on %s[%d]: got %d, expected %d; seeking back",
                            r.topic, r.partition, r.offset, expected[tp])
                refused.add(tp)
                continue
            admitted.append(r)
            expected[tp] = r.offset + 1
        admitted = [r for r in admitted if (r.topic, r.partition) not in refused]
        for topic, partition in refused:
            self._seek(topic, partition)
        return admitted

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

    def mark(self, records: Sequence[Record]) -> None:
        for r in records:
            self.applied[(r.topic, r.partition)] = r.offset


async def apply_batch(pipeline: Pipeline, positions: Positions, records: Sequence[Record],
                      stop: asyncio.Event) -> int:
    """Apply a batch; retries transient failures until it is stored or we stop."""
    admitted = positions.admit(records)
    if not admitted:
        return 0
    delay = 0.2
    while True:
        try:
            await pipeline.handle(admitted)
            positions.mark(admitted)
            return len(admitted)
        except TRANSIENT as exc:
            if stop.is_set():
                raise  # not stored: replayed from the stored offsets after restart
            log.warning("store unavailable (%s: %s); retrying in %.1fs",
                        type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _retry(call: Any, what: str) -> Any:
    delay = 0.2
    while True:
        try:
            return await call()
        except TRANSIENT as exc:
            log.warning("cannot %s (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
