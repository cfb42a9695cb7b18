"""The scheduler's store on SQLAlchemy 2 (async): SQLite by default, PostgreSQL in production.

`write` stores, in ONE transaction, the changed centre state, the input offsets that
state reflects and the output events it caused (the outbox), checking first that no other
instance has claimed a partition of the batch since (`claim`: an epoch per partition, the
fencing token). Whatever the moment of a crash, the stored state, offsets and outbox agree,
and an instance that lost its partitions writes none of their centres. What a batch writes
is built apart, as rows (rows.py); the status page's queries are in queries.py.
"""

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.events import ANY_ADAPTER
from services.scheduler.domain.routing import Route
from services.scheduler.domain.state import CentreState, PlanSummary, SlotRec
from services.scheduler.store import codec
from services.scheduler.store import tables as t
from services.scheduler.store.bulk import Bulk, runs
from services.scheduler.store.calendar import load_calendar
from services.scheduler.store.engine import SCHEMA_LOCK, add_later_columns, make_engine
from services.scheduler.store.replies import delete_keys, due_centres, load_replies
from services.scheduler.store.rows import (
    OUTBOX_COLUMNS,
    BatchRows,
    OriginKey,
    OutboxRow,
    StoredRow,
    TopicPartition,
    batch_rows,
    headers_of,
)

__all__ = ["BatchRows", "Fenced", "OutboxRow", "SchedulerStore", "StoredRow",
           "TopicPartition", "batch_rows", "make_engine"]


DELETE_RANGES = 200  # ranges per DELETE statement: two bound values each


class Fenced(Exception):
    """Another instance has claimed a partition of this batch since we did: not written."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = sorted(partitions)
        super().__init__(f"partitions {self.partitions} were claimed by another instance")


async def _check_fence(conn: Any, fence: Mapping[int, int]) -> None:
    """Refuse the write if a partition was claimed since: one statement, which also locks
    the partitions' rows, so that a claim waits for this transaction to end."""
    if not fence:
        return
    owners = t.partition_owners
    held = sa.or_(*[sa.and_(owners.c.partition == p, owners.c.epoch == e)
                    for p, e in sorted(fence.items())])
    kept = await conn.execute(sa.update(owners).where(held).values(epoch=owners.c.epoch))
    if kept.rowcount == len(fence):
        return
    rows = await conn.execute(sa.select(owners).where(owners.c.partition.in_(sorted(fence))))
    current = {r.partition: r.epoch for r in rows}
    raise Fenced(p for p, e in fence.items() if current.get(p) != e)


class SchedulerStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        self._bulk = Bulk(engine.dialect)
        # SQLite has one writer: concurrent transactions of this process (lanes, the relay)
        # take turns here rather than in SQLite's busy handler, which sleeps up to 100 ms
        # between tries. PostgreSQL's row locks let them run together.
        self._turn = asyncio.Lock() if self._dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (its turn first, on SQLite)."""
        async with contextlib.AsyncExitStack() as stack:
            if self._turn is not None:
                await stack.enter_async_context(self._turn)
            yield await stack.enter_async_context(self.engine.begin())

    @classmethod
    async def open(cls, url: str) -> "SchedulerStore":
        store = cls(make_engine(url))
        await store.create_tables()
        return store

    async def create_tables(self) -> None:
        """Create what is missing (instances starting together: one creates, under a lock)."""
        async with self.engine.begin() as conn:
            if self._dialect == "postgresql":
                await conn.execute(SCHEMA_LOCK)
            await conn.run_sync(t.metadata.create_all)
            await conn.run_sync(add_later_columns)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def stored_offsets(
        self, partitions: Iterable[TopicPartition]
    ) -> dict[TopicPartition, int]:
        wanted = set(partitions)
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t.offsets))
            return {
                (r.topic, r.partition): r.offset
                for r in rows
                if (r.topic, r.partition) in wanted
            }

    async def load_centres(self, centre_ids: Iterable[str],
                           folded_since: dt.datetime | None = None) -> dict[str, CentreState]:
        """The centres' whole state; of the replies folded, those since `folded_since`."""
        ids = sorted(set(centre_ids))
        states = {c: codec.empty(c) for c in ids}
        if not ids:
            return states
        async with self.engine.connect() as conn:
            for r in await conn.execute(sa.select(t.centres).where(t.centres.c.centre_id.in_(ids))):
                states[r.centre_id].info = codec.info_of(r.info)
            for r in await conn.execute(sa.select(t.slots).where(t.slots.c.centre_id.in_(ids))):
                key = codec.slot_key(r.service, r.start)
                states[r.centre_id].slots[key] = SlotRec(r.duration_min, r.capacity)
            query = sa.select(t.bookings).where(t.bookings.c.centre_id.in_(ids))
            for r in await conn.execute(query):
                states[r.centre_id].bookings[r.booking_id] = codec.booking_of(r)
            for r in await conn.execute(sa.select(t.outages).where(t.outages.c.centre_id.in_(ids))):
                states[r.centre_id].outages[r.outage_id] = codec.outage_of(r.record)
            query = sa.select(t.decisions).where(t.decisions.c.centre_id.in_(ids))
            for r in await conn.execute(query):
                states[r.centre_id].decisions[r.booking_id] = codec.decision_of(r)
            query = sa.select(t.conflicts).where(t.conflicts.c.centre_id.in_(ids))
            for r in await conn.execute(query):
                key = codec.slot_key(r.service, r.start)
                states[r.centre_id].conflicts[key] = (r.capacity, r.booked)
            await load_calendar(conn, states)
            await load_replies(conn, states, folded_since)
        for state in states.values():
            state.reindex()
        return states

    async def load_origins(self, partitions: Iterable[TopicPartition],
                           ) -> dict[OriginKey, tuple[int, int]]:
        """The last origin applied to these partitions of the internal topics."""
        wanted = set(partitions)
        if not wanted:
            return {}
        query = sa.select(t.origins).where(
            t.origins.c.partition.in_(sorted({p for _, p in wanted})))
        async with self.engine.connect() as conn:
            return {(r.topic, r.partition, r.origin_topic, r.origin_partition):
                    (r.origin_offset, r.origin_index) for r in await conn.execute(query)
                    if (r.topic, r.partition) in wanted}

    async def claim(self, partitions: Iterable[int]) -> dict[int, int]:
        """Raise the epoch of each partition: from now on only batches applied under the
        returned epochs are written. Waits for a write in flight of the previous owner (the
        row lock), so what it committed is read after this."""
        claimed: dict[int, int] = {}
        async with self._writing() as conn:
            for p in sorted(set(partitions)):  # one order everywhere: no deadlock
                owners = t.partition_owners
                raised = await conn.execute(sa.update(owners).where(owners.c.partition == p)
                                            .values(epoch=owners.c.epoch + 1)
                                            .returning(owners.c.epoch))
                epoch = raised.scalar()
                if epoch is None:  # a second claimant's insert fails: retried as transient
                    await conn.execute(sa.insert(owners).values(partition=p, epoch=1))
                    epoch = 1
                claimed[p] = int(epoch)
        return claimed

    async def load_routes(self, outage_ids: Iterable[str]) -> dict[str, Route]:
        ids = sorted(set(outage_ids))
        if not ids:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t.routes).where(t.routes.c.outage_id.in_(ids)))
            return {
                r.outage_id: Route(
                    tuple(json.loads(r.centres)),
                    [ANY_ADAPTER.validate_json(p) for p in json.loads(r.pending)],
                    ANY_ADAPTER.validate_json(r.declared) if r.declared else None,
                )
                for r in rows
            }

    async def commit(
        self,
        states: Iterable[CentreState],
        routes: Mapping[str, Route],
        offsets: Mapping[TopicPartition, int],
        outbox: Sequence[OutboxRow],
        plans: Sequence[PlanSummary] = (),
    ) -> None:
        """One transaction: changed state, routes, input offsets, outbox rows, plan summaries.

        The states' changes are marked stored only once the transaction committed.
        """
        states = list(states)
        await self.write(batch_rows(states, routes, offsets, outbox, plans))
        for state in states:
            state.clear_dirty()

    async def write(self, batch: "BatchRows") -> None:
        """Write rows built by `batch_rows` in ONE transaction.

        Few statements per table for the whole batch, whatever the number of centres or
        rows (bulk.py): the per-statement and per-row round trips, not the database's work,
        dominated ingestion.
        """
        size = len(batch.outbox) + sum(len(rows) for rows in batch.upserts.values())
        statements = await asyncio.to_thread(self._statements, batch) if size > 1000 \
            else self._statements(batch)  # a plan's rows: built off the event loop
        async with self._writing() as conn:
            await _check_fence(conn, batch.fence)
            for centre, service, start in batch.resolved:
                await conn.execute(sa.delete(t.conflicts).where(
                    t.conflicts.c.centre_id == centre, t.conflicts.c.service == service,
                    t.conflicts.c.start == start))
            for name, keys in batch.deletes.items():
                await delete_keys(conn, t.metadata.tables[name], keys)
            for sql, params in statements:
                await conn.exec_driver_sql(sql, params)

    def _statements(self, batch: "BatchRows") -> list[tuple[str, tuple[Any, ...]]]:
        statements = [s for name, rows in batch.upserts.items()
                      for s in self._bulk.upsert(t.metadata.tables[name], rows)]
        return statements + self._bulk.insert(t.outbox, OUTBOX_COLUMNS, batch.outbox)

    async def due_centres(self, now: dt.datetime) -> set[str]:
        """Centres holding an offer whose reply_by has passed with no answer at `now`."""
        async with self.engine.connect() as conn:
            return await due_centres(conn, now)

    async def outbox_batch(self, partitions: Iterable[int] | None, limit: int) -> list[StoredRow]:
        o = t.outbox.c
        query = sa.select(o.seq, o.topic, o.key, o.value, o.headers, o.to_partition) \
            .order_by(o.seq).limit(limit)
        if partitions is not None:
            query = query.where(o.partition.in_(sorted(set(partitions))))
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)  # unpacked by position: a third faster
            return [StoredRow(seq, topic, key, value, headers_of(headers), to_partition)
                    for seq, topic, key, value, headers, to_partition in rows]

    async def outbox_delete(self, seqs: Sequence[int]) -> None:
        """Delete published rows by ranges of their sequence numbers (bulk.runs): an IN
        list of 20,000 numbers cost more to compile than the delete itself."""
        seq = t.outbox.c.seq
        spans = runs(seqs)
        async with self._writing() as conn:
            for i in range(0, len(spans), DELETE_RANGES):
                await conn.execute(sa.delete(t.outbox).where(sa.or_(
                    *[seq.between(lo, hi) for lo, hi in spans[i:i + DELETE_RANGES]])))

    async def outbox_backlog(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(t.outbox)))
                       .scalar_one())

    async def plan_summaries(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t.plans))
            return [json.loads(r.summary) for r in rows]
