"""The status relay: publishes the outbox's status events in order, then deletes them (the
way services/scheduler/relay.py publishes the scheduler's outbox).

A crash between the publish and the delete re-publishes the same events with the same ids;
consumers dedupe by id. Each instance relays the rows it wrote, and any row its writer left
behind for longer than a lease.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog

from schemas.topics import Topic
from services.common.clock import Clock
from services.common.kafka import Outgoing
from services.common.retry import until_done
from services.notifier.dispatcher.config import UNAVAILABLE
from services.notifier.store import DeliveryStore, OutboxRow
from services.notifier.traces import Traces

log = structlog.get_logger("reslot.notifier")

IDLE_POLL_S = 0.5  # orphaned rows, and rows written while the broker was down

# Sends messages, in order per key, and returns once the broker acknowledged each
# (services.common.kafka.publish_all on the notifier's producer).
Publish = Callable[[Sequence[Outgoing]], Awaitable[None]]


class StatusRelay:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        publish: Publish,
        clock: Clock,
        traces: Traces,
        owner: str,
        orphan_after_s: float,
        batch: int = 500,
    ) -> None:
        self._store = store
        self._publish_all = publish
        self._clock = clock
        self._traces = traces
        self._owner = owner
        self._orphan_after_s = orphan_after_s
        self._batch = batch
        self._wake = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        """Status events were written: publish them soon."""
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; the store or the broker down: wait and go on."""
        while True:
            self._wake.clear()
            sent = await until_done(self.flush, "publish status events", UNAVAILABLE, log,
                                    first_s=0.1, cap_s=5.0)
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)

    async def flush(self) -> int:
        """Publish every row there is to publish, batch after batch; how many."""
        total = 0
        while rows := await self._store.outbox_batch(
            self._owner, self._clock.now(), self._orphan_after_s, self._batch
        ):
            await self._publish(rows)
            await self._store.outbox_delete([r.seq for r in rows])
            total += len(rows)
            self.published += len(rows)
            if len(rows) < self._batch:
                break
        return total

    async def drain(self, timeout_s: float) -> None:
        """Publish what can be before shutting down; the rest is published at the next start."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.flush()
        except (TimeoutError, *UNAVAILABLE) as exc:
            log.warning("relay: status events left for the next start", error=repr(exc))

    async def _publish(self, rows: Sequence[OutboxRow]) -> None:
        spans = [self._traces.status_span(row) for row in rows]
        try:
            await self._publish_all([
                Outgoing(Topic.NOTIFICATION_STATUS, row.centre_id, row.value, headers)
                for row, (_, headers) in zip(rows, spans, strict=True)
            ])
        finally:
            for span, _ in spans:
                if span is not None:
                    span.end()
