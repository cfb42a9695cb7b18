"""The outbox relay: publishes stored output events in order, then deletes them.

A crash between publish and delete re-publishes the same events with the same ids;
consumers dedupe by id. Only rows of partitions this instance owns are relayed, so two
instances never race over one centre's events and order per centre holds.
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
from services.scheduler.store.sql import SchedulerStore

log = logging.getLogger("reslot.relay")


class Relay:
    def __init__(self, store: SchedulerStore, producer: AIOKafkaProducer, batch: int,
                 owned: Callable[[], set[int]], metrics: Metrics) -> None:
        self.store = store
        self.producer = producer
        self.batch = batch
        self.owned = owned
        self.metrics = metrics
        self.wake = asyncio.Event()
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        delay = 0.1
        while not stop.is_set():
            try:
                sent = await self.flush_once()
                delay = 0.1
            except (KafkaError, OSError, SQLAlchemyError) as exc:
                log.warning("relay: broker or store unavailable (%s: %s), retrying in %.1fs",
                            type(exc).__name__, exc, delay)
                sent, delay = 0, min(delay * 2, 5.0)
                await asyncio.sleep(delay)
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
        await publish_all(self.producer, [Outgoing(r.topic, r.key, r.value, r.headers)
                                          for r in rows])
        await self.store.outbox_delete([r.seq for r in rows])
        self.published += len(rows)
        return len(rows)

    async def drain(self, timeout: float) -> None:
        """Publish what can be published before shutting down."""
        async with asyncio.timeout(timeout):
            while await self.flush_once():
                pass
