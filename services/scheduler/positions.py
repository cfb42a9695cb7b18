"""Where each owned partition stands: the store's offsets decide what was applied.

On assignment each partition is claimed in the store (its epoch raised: an instance that
lost it can no longer write it) and sought to its stored offset + 1. A fetched batch is
trimmed of records already applied, and a partition whose records start past the stored
position (a gap) is refused and sought back.
"""

import itertools
import logging
import operator
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy.exc import SQLAlchemyError

from services.common.metrics import Metrics
from services.common.retry import until_done
from services.scheduler.parsing import Record
from services.scheduler.store.sql import SchedulerStore

log = logging.getLogger("reslot.scheduler")

TP = tuple[str, int]
TRANSIENT = (SQLAlchemyError, OSError, TimeoutError)  # a store or broker that comes back
_partition_of = operator.attrgetter("topic", "partition")


class Positions(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tracks the applied position of every owned partition; claims and seeks on assignment.

    `settle` waits for the writes in flight: stored offsets are read, or given up, after
    them. `forget` drops every lane's cached centres on a rebalance (read again from the
    store; the generation changes with it, so a batch prepared meanwhile is dropped).
    """

    def __init__(self, store: SchedulerStore, consumer: AIOKafkaConsumer,
                 settle: Callable[[], Awaitable[None]], forget: Callable[[], None]) -> None:
        self.store = store
        self.consumer = consumer
        self.settle = settle
        self.forget = forget
        self.applied: dict[TP, int] = {}  # last applied offset, -1 = none
        self.epochs: dict[int, int] = {}  # partition -> epoch claimed in the store
        self.generation = 0  # changes with every revocation and assignment
        self._moves: Counter[int] = Counter()  # per partition: sought back or lost

    def owned_partitions(self) -> set[int]:
        return {p for _, p in self.applied}

    def stamp(self, partitions: Iterable[int]) -> tuple[int, ...]:
        """Changes whenever one of `partitions` is reassigned, sought back or lost: a batch
        prepared under another stamp is dropped (its records are read again)."""
        return (self.generation, *(self._moves[p] for p in sorted(set(partitions))))

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.settle()  # the next owner must find what we applied stored
        self.generation += 1
        for tp in revoked:
            self.applied.pop((tp.topic, tp.partition), None)
        self.epochs = {p: e for p, e in self.epochs.items() if p in self.owned_partitions()}
        self.forget()  # another instance may change these centres now

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        assigned = sorted(assigned)
        # The line the tests (and operators) read to see who owns what.
        log.info("Consumer %s assigned to partitions: (%s)", self._member(),
                 ", ".join(str(tp) for tp in assigned))
        await self.settle()
        self.generation += 1
        tps = [(tp.topic, tp.partition) for tp in assigned]
        numbers = {p for _, p in tps}
        self.epochs = await until_done(lambda: self.store.claim(numbers), "claim partitions",
                                       TRANSIENT, log)
        stored = await until_done(lambda: self.store.stored_offsets(tps), "read stored offsets",
                                  TRANSIENT, log)
        self.applied = {}
        for topic, partition in tps:
            self.applied[(topic, partition)] = stored.get((topic, partition), -1)
            self._seek(topic, partition)
        self.forget()
        log.info("assigned %d partitions, resuming from stored offsets", len(tps))

    async def resume(self, partitions: Collection[int] | None = None) -> None:
        """Back to the stored offsets of the owned `partitions` (all: None), a write of
        theirs being lost; no write of theirs may be in flight. The caller forgets its
        cache: other lanes keep theirs (forgetting a cache while its lane has a write in
        flight would reload the store without that write)."""
        owned = [tp for tp in self.applied if partitions is None or tp[1] in partitions]
        stored = await until_done(lambda: self.store.stored_offsets(owned),
                                  "read stored offsets", TRANSIENT, log)
        self._moves.update({p for _, p in owned})
        for topic, partition in owned:
            if (topic, partition) in self.applied:  # not revoked while we read
                self.applied[(topic, partition)] = stored.get((topic, partition), -1)
                self._seek(topic, partition)

    def disown(self, partitions: Iterable[int]) -> None:
        """Another instance claimed these partitions: apply and relay none of them until
        Kafka assigns them to us again (then every cache is forgotten). A lane holding
        others of them finds out at its next write, fenced too."""
        lost = set(partitions)
        self._moves.update(lost)
        self.applied = {tp: o for tp, o in self.applied.items() if tp[1] not in lost}
        self.epochs = {p: e for p, e in self.epochs.items() if p not in lost}
        log.warning("partitions %s were claimed by another instance; left to it", sorted(lost))

    def fence(self, partitions: Iterable[int]) -> dict[int, int]:
        """The epochs a batch of these partitions is written under."""
        return {p: self.epochs[p] for p in partitions if p in self.epochs}

    def _member(self) -> str:
        coordinator = getattr(self.consumer, "_coordinator", None)
        return str(getattr(coordinator, "member_id", "?"))

    def _seek(self, topic: str, partition: int) -> None:
        self.consumer.seek(TopicPartition(topic, partition), self.applied[(topic, partition)] + 1)

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
        for (topic, partition), applied in self.applied.items():
            end = self.consumer.highwater(TopicPartition(topic, partition))
            if end is not None:
                metrics.lag.labels(topic, str(partition), group).set(max(0, end - applied - 1))

    def mark(self, last: Mapping[TP, int]) -> None:
        """The batch admitted up to `last` is applied (and being stored)."""
        self.applied.update(last)

