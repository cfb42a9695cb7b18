"""Applying one lane's input batches exactly once in effect, whatever Kafka redelivers
(lanes.py splits the owned partitions into lanes applied concurrently).

The store's offsets decide what was applied (positions.py). Batch k's transaction is
written while batch k+1 is parsed and applied in memory (the database driver works in its
own thread); k+1's transaction starts only after k's committed. A fetched batch holding
several plans is applied as several such batches, one per plan (parts.py). A write that fails drops
everything not stored: the cache is forgotten and the partitions sought back to the stored
offsets, exactly as after a restart. Transient failures (database, broker) are retried with
backoff (services/common/retry.py), never skipped.

A plain aiokafka consumer, not FastStream's subscriber: the rebalance listener (Positions)
seeks the consumer, and must be given to `subscribe`; FastStream creates its consumer only
when the broker starts, so the listener could reach it only through a setter after
construction. Here the consumer is built first, the listener with it, and `subscribe`
takes the listener: the composition root (app.py) wires everything once, in order. What
FastStream gave is kept: the range assignor (co-partitioning), no auto-commit (manual
offsets from the store), settle before revocation, batches of `batch_max_records` as
fetched, and a graceful stop that finishes the batch in hand.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from services.common.retry import until_done
from services.common.runtime import keep_long_lived
from services.scheduler.parsing import Record
from services.scheduler.parts import plan_parts
from services.scheduler.pipeline import Pipeline, Prepared, last_offsets
from services.scheduler.positions import TRANSIENT, Positions
from services.scheduler.store.sql import Fenced

log = logging.getLogger("reslot.scheduler")

GROUP = "reslot-scheduler"
RESUMED = "reading again from the stored offsets"


class Writer:
    """The batch being written while the next one is applied in memory."""

    def __init__(self, pipeline: Pipeline, on_stored: Callable[[], None]) -> None:
        self.pipeline = pipeline
        self.on_stored = on_stored
        self._writing: asyncio.Task[None] | None = None

    def begin(self, prepared: Prepared) -> None:
        self._writing = asyncio.create_task(self._write(prepared), name="scheduler-write")

    async def _write(self, prepared: Prepared) -> None:
        await self.pipeline.commit(prepared)
        self.on_stored()

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

    async def failure(self) -> Exception | None:
        """Wait for the write in flight; what made it fail (then nothing is cached), or None."""
        writing = self._writing
        if writing is None:
            return None
        try:
            await asyncio.shield(writing)
        except Exception as exc:
            self._writing = None
            self.pipeline.forget()
            return exc
        if self._writing is writing:
            self._writing = None
        return None


class Applier:
    """Applies one lane's batches (and timeout ticks) in order, writing one while the next
    is applied in memory. `partitions` gives the lane's owned partitions."""

    def __init__(self, pipeline: Pipeline, positions: Positions, writer: Writer,
                 give_up: asyncio.Event, partitions: Callable[[], set[int]]) -> None:
        self.pipeline = pipeline
        self.positions = positions
        self.writer = writer
        self.give_up = give_up  # set on shutdown: a batch waiting for the store gives up
        self.partitions = partitions

    async def apply(self, records: Sequence[Record]) -> int:
        """Apply a batch in memory and start writing it; the number of records admitted.

        A batch that holds several plans is applied in parts (parts.py), each written while
        the next is planned. The write of the previous part is awaited before a part's
        begins. If it failed, this part was built on changes that are lost: it is dropped
        with the rest of the batch, and the partitions read again from the stored offsets.
        """
        if not await self._reload_ready():
            return 0
        admitted, _ = self.positions.admit(records)
        applied = 0
        for part in plan_parts(admitted):
            if not part or not await self._reload_ready() or not await self._apply_part(part):
                break
            applied += len(part)
        if applied:
            keep_long_lived()  # the batch is in the cache now
        return applied

    async def _apply_part(self, records: Sequence[Record]) -> bool:
        """Apply admitted records in memory and start writing them; False if dropped."""
        last = last_offsets(records)
        read = {p for _, p in last}
        stamp = self.positions.stamp(read)
        fence = self.positions.fence(read)
        prepared = await until_done(lambda: self.pipeline.prepare(records, last, fence),
                                    "apply a batch: store unavailable", TRANSIENT, log,
                                    give_up=self.give_up)
        if not await self._begin(prepared, read, stamp):
            return False
        self.positions.mark(last)
        return True

    async def tick(self, now: dt.datetime) -> int:
        """The timeout answers due at `now` at the lane's centres, written like a batch;
        the number of answers."""
        if not await self._reload_ready():
            return 0
        owned = self.partitions()
        if not owned:
            return 0
        stamp = self.positions.stamp(owned)
        fence = self.positions.fence(owned)
        prepared = await until_done(lambda: self.pipeline.prepare_tick(now, owned, fence),
                                    "look for offers past reply_by: store unavailable",
                                    TRANSIENT, log, give_up=self.give_up)
        if prepared is None or not await self._begin(prepared, owned, stamp):
            return 0
        return len(prepared.result.outbox)

    async def _reload_ready(self) -> bool:
        """A forgotten cache is reloaded from the store only once the lane's last write is
        stored (else it would read the store without it); False if that write failed."""
        if not self.pipeline.stale:
            return True
        failed = await self.writer.failure()
        if failed is not None:
            await self._lost(failed)
            return False
        return True

    async def _begin(self, prepared: Prepared, partitions: set[int],
                     stamp: tuple[int, ...]) -> bool:
        """Start writing `prepared` once the previous write is stored; False (dropped) if
        that write failed or the partitions moved meanwhile."""
        failed = await self.writer.failure()
        if failed is not None:
            await self._lost(failed)
            return False
        if self.positions.stamp(partitions) != stamp:
            self.pipeline.forget()  # prepared on partitions since moved
            return False
        self.writer.begin(prepared)
        return True

    async def _lost(self, exc: Exception) -> None:
        """The previous write failed: nothing after the stored offsets counts."""
        self.pipeline.forget()
        if isinstance(exc, Fenced):
            self.positions.disown(exc.partitions)
        elif isinstance(exc, TRANSIENT):
            log.warning("store unavailable (%s: %s); %s", type(exc).__name__, exc, RESUMED)
        else:  # a bug: never commit past it; the batch is read again and fails again
            log.error("writing a batch failed; %s", RESUMED, exc_info=exc)
        if not self.give_up.is_set():
            await self.positions.resume(self.partitions())
