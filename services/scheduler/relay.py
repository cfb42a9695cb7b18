"""The outbox relay: publishes stored output events in order, then deletes them.

A crash between publish and delete re-publishes the same events with the same ids;
consumers dedupe by id (and the scheduler's own internal topics by origin, see
parsing.Origin). Only rows of partitions this instance owns are relayed, so two instances
never race over one centre's events and order per centre holds. Rows of the internal
topics go to the partition stored with them: their owner's.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from services.common.kafka import Outgoing, publish_all
from services.common.metrics import Metrics
from services.common.retry import until_done
from services.scheduler.store.sql import SchedulerStore

log = logging.getLogger("reslot.relay")

TRANSIENT = (KafkaError, OSError, SQLAlchemyError)
# A plan's tens of thousands of events are relayed while lanes apply replies on the same
# event loop: a send() per event held it ~80 ms per 1,000 (bench.replies); placing events
# on partitions (publish_all) costs ~1.3 us each, and gives the loop up every 100.
YIELD_EVERY = 100


class Relay:
    def __init__(self, store: SchedulerStore, producer: AIOKafkaProducer, batch: int,
                 owned: Callable[[], set[int]], metrics: Metrics,
                 wake: asyncio.Event | None = None) -> None:
        self.store = store
        self.producer = producer
        self.batch = batch
        self.owned = owned
        self.metrics = metrics
        self.wake = wake or asyncio.Event()  # set when a batch is stored: relay at once
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop`; a broker or store that is down is waited for, with backoff."""
        while not stop.is_set():
            try:
                sent = await until_done(self.flush_once, "relay: broker or store unavailable",
                                        TRANSIENT, log, first_s=0.1, cap_s=5.0, give_up=stop)
            except TRANSIENT:
                return  # stopping: what is left is relayed by drain, or the next owner
            if not sent:
                await self._observe_backlog()
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=0.5)

    async def _observe_backlog(self) -> None:
        """When idle, count what is left (every instance's rows: the gauge is the store's)."""
        try:
            self.metrics.outbox_backlog.set(await self.store.outbox_backlog())
        except SQLAlchemyError as exc:
            log.warning("relay: cannot count the outbox (%s)", exc)

    async def flush_once(self) -> int:
        """Publish one batch of owned rows; the number published."""
        owned = self.owned()
        if not owned:
            return 0
        rows = await self.store.outbox_batch(owned, self.batch)
        if not rows:
            return 0
        await publish_all(self.producer, [Outgoing(r.topic, r.key, r.value, r.headers,
                                                   r.to_partition) for r in rows],
                          yield_every=YIELD_EVERY)
        await self.store.outbox_delete([r.seq for r in rows])
        self.published += len(rows)
        return len(rows)

    async def drain(self, timeout: float) -> None:
        """Publish what can be published before shutting down."""
        async with asyncio.timeout(timeout):
            while await self.flush_once():
                pass
