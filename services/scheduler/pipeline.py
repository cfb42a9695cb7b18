"""From a batch of input records to stored state, offsets and outbox rows.

The same code serves the running scheduler (records from Kafka) and `reslot plan`
(records from a file). For each record, in order:

1. parse it (parsing.py); bad input becomes a dead letter in the outbox;
2. not on its owner's partition (ownership.py): forward it there, apply nothing here;
3. a record of an internal topic already applied (published twice): skip it;
4. an outage not yet routed: re-publish it once per centre it names (domain/routing.py);
5. anything else: `process(state, event, config)` at its centre (domain/process.py).

Then `settle(state, config)` once per centre the batch touched: its outputs go to the
outbox of the partition of that centre's last record. Everything is committed in one
transaction with the batch's offsets (store/sql.py); metrics and logs follow the commit.

A tick (`prepare_tick`) is a batch of no records: the scheduler's own timeout answers to
offers past their reply_by, each offer marked in the same transaction as its answer.
"""

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from schemas.topics import TOPIC_OF_TYPE, Topic
from services.common.clock import Clock, SystemClock
from services.common.metrics import Metrics
from services.scheduler import telemetry
from services.scheduler.domain.process import PlanningConfig, process, settle
from services.scheduler.domain.retirement import retire, retirement_cut
from services.scheduler.domain.routing import Route, route
from services.scheduler.domain.state import CentreState, PlanSummary
from services.scheduler.domain.timeouts import expire
from services.scheduler.ownership import Ownership
from services.scheduler.parsing import Origin, Parsed, Record, deadletter_row, parse
from services.scheduler.store.rows import (
    BatchRows,
    OriginKey,
    OutboxRow,
    TopicPartition,
    batch_rows,
)
from services.scheduler.store.sql import SchedulerStore
from services.scheduler.telemetry import BatchResult


@dataclass(frozen=True)
class Prepared:
    """A batch applied in memory, with the rows that make it durable."""

    records: Sequence[Record]
    result: BatchResult
    rows: BatchRows


class Pipeline:
    """Applies batches; caches the state of the centres this instance owns."""

    def __init__(self, store: SchedulerStore, config: PlanningConfig, *,
                 ownership: Ownership | None = None, metrics: Metrics | None = None,
                 clock: Clock | None = None, outages: dict[int, int] | None = None) -> None:
        self.store = store
        self.config = config
        self.ownership = ownership or Ownership(1)
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self._centres: dict[str, CentreState] = {}
        self._routes: dict[str, Route] = {}
        self._origins: dict[OriginKey, tuple[int, int]] = {}
        self._origins_loaded: set[TopicPartition] = set()
        self._stale = False
        self.recent_plans: deque[PlanSummary] = deque(maxlen=1000)
        # Active outages per lane's pipeline, shared by the lanes: the gauge is their sum.
        self._outages = outages if outages is not None else {}

    @property
    def stale(self) -> bool:
        """Forgotten: the next batch reloads its centres from the store."""
        return self._stale

    def forget(self) -> None:
        """Drop cached state (partitions revoked, or a commit failed): reload from the store.

        Takes effect when the next batch is prepared: a batch being prepared meanwhile keeps
        a whole cache (its caller drops what it prepares).
        """
        self._stale = True

    async def handle(self, records: Sequence[Record]) -> BatchResult:
        """Apply `records` (in order per partition) and commit them in one transaction."""
        prepared = await self.prepare(records)
        await self.commit(prepared)
        return prepared.result

    async def prepare(self, records: Sequence[Record],
                      offsets: Mapping[TopicPartition, int] | None = None,
                      fence: Mapping[int, int] | None = None) -> Prepared:
        """Apply `records` in memory and build the rows that store them; nothing written.
        `fence`: the epochs of the partitions read (the write is refused if one changed).

        The cache then holds changes that only `commit` makes durable: if that fails, or
        the prepared batch is dropped, call `forget`.
        """
        # The CPU-bound parts run in a worker thread: the event loop stays free to write the
        # previous batch (each of its statements is a round through the loop) and to fetch.
        parsed = await asyncio.to_thread(_parse_all, records)
        self._refresh()
        await self._load(parsed)
        try:
            result, rows = await asyncio.to_thread(
                self._apply_and_rows, parsed,
                last_offsets(records) if offsets is None else offsets, fence or {})
        except BaseException:
            self.forget()  # the cache may hold changes that were never stored
            raise
        return Prepared(records, result, rows)

    async def prepare_tick(self, now: dt.datetime, partitions: Collection[int],
                           fence: Mapping[int, int]) -> Prepared | None:
        """The timeout answers due at `now` (domain/timeouts.py) at the centres of
        `partitions`, as a batch of no input records; None when none is due. Centres are
        found from the store (after a restart too), and checked against the cache, which
        may hold answers not stored yet."""
        due = await self.store.due_centres(now)
        centres = sorted(c for c in due if self.ownership.partition_of(c) in partitions)
        if not centres:
            return None
        self._refresh()
        self._centres.update(await self.store.load_centres(set(centres) - self._centres.keys(),
                                                           self._folded_since()))
        try:
            result, rows = await asyncio.to_thread(self._expire, centres, now, fence)
        except BaseException:
            self.forget()
            raise
        return Prepared((), result, rows) if result.outbox else None

    async def commit(self, prepared: Prepared) -> None:
        """Write a prepared batch in one transaction; then its metrics and logs."""
        try:
            await self.store.write(prepared.rows)
        except BaseException:
            self.forget()
            raise
        self.recent_plans.extend(prepared.result.plans)
        if prepared.records:  # a tick counts no outages
            self._outages[id(self)] = prepared.result.active_outages
        prepared.result.active_outages = sum(self._outages.values())
        telemetry.observe(self.metrics, prepared.records, prepared.result)

    def _refresh(self) -> None:
        if self._stale:
            self._centres, self._routes, self._stale = {}, {}, False
            self._origins, self._origins_loaded = {}, set()

    def _expire(self, centres: Sequence[str], now: dt.datetime,
                fence: Mapping[int, int]) -> tuple[BatchResult, BatchRows]:
        result = BatchResult()
        for centre in centres:
            events = expire(self._centres[centre], now)
            if events:
                result.touched.add(centre)
            partition = self.ownership.partition_of(centre)  # on its topic, by its key
            result.outbox += [OutboxRow(partition, TOPIC_OF_TYPE[e.type], e.subject,
                                        e.to_json()) for e in events]
        states = [self._centres[c] for c in sorted(result.touched)]
        rows = batch_rows(states, {}, {}, result.outbox, fence=fence)
        for state in states:
            state.clear_dirty()
        return result, rows

    async def _load(self, parsed: Iterable[Parsed]) -> None:
        centres, outages, internal = set(), set(), set()
        for p in parsed:
            if p.event is None or not self.ownership.owns(p):
                continue
            if p.centre:
                centres.add(p.centre)
            else:
                outages.add(p.event.data.outage_id)
            if p.origin is not None:
                internal.add((p.record.topic, p.record.partition))
        missing = centres - self._centres.keys()
        self._centres.update(await self.store.load_centres(missing, self._folded_since()))
        unknown_routes = outages - self._routes.keys()
        self._routes.update(await self.store.load_routes(unknown_routes))
        unloaded = internal - self._origins_loaded
        self._origins.update(await self.store.load_origins(unloaded))
        self._origins_loaded |= unloaded

    def _folded_since(self) -> dt.datetime:
        """Folded replies older than this are not loaded (ReplyPolicy.dedupe_days)."""
        return self.clock.now() - dt.timedelta(days=self.config.replies.dedupe_days)

    def _apply_and_rows(self, parsed: Sequence[Parsed], offsets: Mapping[TopicPartition, int],
                        fence: Mapping[int, int]) -> tuple[BatchResult, BatchRows]:
        applied: dict[OriginKey, tuple[int, int]] = {}
        result = self._apply_all(parsed, applied)
        touched = sorted(result.touched)
        routes = {o: self._routes[o] for o in result.routed}
        states = [self._centres[c] for c in touched]
        rows = batch_rows(states, routes, offsets, result.outbox, result.plans, applied, fence)
        for state in states:
            state.clear_dirty()  # the rows hold the changes now
        return result, rows

    def _apply_all(self, parsed: Sequence[Parsed],
                   applied: dict[OriginKey, tuple[int, int]]) -> BatchResult:
        result = BatchResult()
        partition_of: dict[str, int] = {}  # centre -> partition of its last record here
        now = self.clock.now()
        for p in parsed:
            if p.event is None:
                assert p.error is not None
                result.deadletters.append((p.record, p.error))
                result.outbox.append(deadletter_row(p.record, p.error, now))
            elif not self.ownership.owns(p):
                result.forwarded.append(p.record)
                result.outbox.append(self.ownership.forward(p))
            elif p.origin is not None and not self._first_time(p, p.origin, applied):
                result.duplicates.append(p.record)
            elif not p.centre:
                self._route(p, result)
            else:
                result.touched.add(p.centre)
                partition_of[p.centre] = p.record.partition
                self._process(p, result)
        for centre, partition in partition_of.items():  # what the batch decides once
            state = self._centres[centre]
            events, plans = settle(state, self.config)
            cut = retirement_cut(state, now, self.config.retain_past_days)
            if cut is not None:
                retire(state, cut)
            if state.info is not None or state.waiting:  # a gauge per centre that exists:
                result.waiting[centre] = len(state.waiting)  # not per id a producer names
            result.plans += plans
            traces = telemetry.settle_traces(centre, events)
            result.outbox += [
                OutboxRow(partition, TOPIC_OF_TYPE[e.type], e.subject, e.to_json(),
                          traces.get(getattr(e.data, "outage_id", ""), ())) for e in events]
        result.active_outages = sum(
            1 for s in self._centres.values() for o in s.outages.values() if o.active)
        return result

    def _first_time(self, p: Parsed, origin: Origin,
                    applied: dict[OriginKey, tuple[int, int]]) -> bool:
        """Whether this record of an internal topic is applied for the first time; a copy
        published again comes at or before the last one applied from its origin."""
        key = (p.record.topic, p.record.partition, origin.topic, origin.partition)
        last = self._origins.get(key)
        if last is not None and origin.position <= last:
            return False
        self._origins[key] = applied[key] = origin.position
        return True

    def _route(self, p: Parsed, result: BatchResult) -> None:
        """An outage, re-published once per centre it names, to each centre's partition."""
        assert p.event is not None
        record = p.record
        result.routed.append(p.event.data.outage_id)
        for index, copy in enumerate(route(self._routes, p.event)):
            origin = Origin(Topic.OUTAGES_BY_CENTRE, record.topic, record.partition,
                            record.offset, index)
            headers = (*telemetry.routing_trace(record, copy), origin.header())
            result.outbox.append(OutboxRow(
                record.partition, Topic.OUTAGES_BY_CENTRE, copy.subject, copy.to_json(),
                headers, self.ownership.partition_of(copy.subject)))

    def _process(self, p: Parsed, result: BatchResult) -> None:
        assert p.event is not None
        started = time.time_ns()  # the span's start: telemetry, not a decision
        events, plans = process(self._centres[p.centre], p.event, self.config)
        headers = telemetry.planning_trace(p.record, p.event, plans, started, result) \
            if events else ()
        result.plans += plans
        result.outbox += [OutboxRow(p.record.partition, TOPIC_OF_TYPE[e.type], e.subject,
                                    e.to_json(), headers) for e in events]


def _parse_all(records: Sequence[Record]) -> list[Parsed]:
    return [parse(r) for r in records]


def last_offsets(records: Iterable[Record]) -> dict[TopicPartition, int]:
    last: dict[TopicPartition, int] = {}
    for r in records:
        last[(r.topic, r.partition)] = max(r.offset, last.get((r.topic, r.partition), -1))
    return last
