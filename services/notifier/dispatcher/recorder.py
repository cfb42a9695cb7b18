"""The outcome recorder: what finished (delivered, failed, to try again later) recorded in
one transaction for whatever finished together, with the status events of what it decided
(the store's outbox, published by the relay). Then the jobs leave this instance's hands, or
go back to the dispatcher to be routed again.
"""

import asyncio
import datetime as dt
from collections.abc import Callable

import structlog

from services.common.clock import Clock
from services.notifier.dispatcher.config import UNAVAILABLE, DispatchConfig
from services.notifier.dispatcher.jobs import Job
from services.notifier.dispatcher.ready import ReadyQueue
from services.notifier.domain.model import DeliveryState
from services.notifier.metrics import NotifierMetrics
from services.notifier.store import Decision, Deferral, DeliveryRow, DeliveryStore

log = structlog.get_logger("reslot.notifier")


class OutcomeRecorder:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        queue: ReadyQueue,
        clock: Clock,
        config: DispatchConfig,
        metrics: NotifierMetrics,
        route: Callable[[Job], None],  # a deferred job, back to the dispatcher
        reported: Callable[[], None],  # status events are in the outbox: wake the relay
    ) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        self._config = config
        self._metrics = metrics
        self._route = route
        self._reported = reported
        # Outcomes to record in the next transaction, in order; removed once stored.
        self._decisions: list[tuple[Job, Decision]] = []
        self._deferrals: list[tuple[Job, Deferral, bool]] = []  # bool: held for quiet hours
        self._signal = asyncio.Event()
        self._lock = asyncio.Lock()
        self.stopping = False

    def decide(self, job: Job, state: DeliveryState, error: str | None) -> None:
        self._decisions.append((job, Decision(job.key, state, error)))
        self._signal.set()

    def defer(self, job: Job, not_before: dt.datetime, error: str | None, *,
              held: bool = False) -> None:
        """Try `job` again not before `not_before`; `held` (quiet hours): it leaves this
        instance's hands once that is stored, and the sweep brings it back when due."""
        self._deferrals.append((job, Deferral(job.key, not_before, error), held))
        self._signal.set()

    async def run(self) -> None:
        """Record what finished, whenever something did; kept in hand while the store is down."""
        while True:
            await self._signal.wait()
            if self._queue.sending:  # more outcomes to come: let them join this transaction
                await asyncio.sleep(self._config.linger_s)
            self._signal.clear()
            try:
                await self.record()
            except UNAVAILABLE as exc:  # kept in hand: recorded once the store is back
                log.warning("could not record outcomes", error=repr(exc))
                await self._clock.sleep(self._config.sweep_interval_s)
                self._signal.set()

    async def record(self) -> None:
        """Store the outcomes and deferrals in hand in one transaction; then let them go."""
        async with self._lock:
            decisions, deferrals = self._decisions[:], self._deferrals[:]
            if not (decisions or deferrals):
                return
            decided = await self._store.record(
                [d for _, d in decisions],
                [d for _, d, _ in deferrals],
                self._config.owner,
                self._clock.now(),
            )
            del self._decisions[: len(decisions)], self._deferrals[: len(deferrals)]
        if decided:
            self._reported()
        recorded = {row.key: row for row in decided}
        for job, _ in decisions:
            row = recorded.get(job.key)
            if row is not None:  # else no longer ours: whoever owns it now decides it
                self._log_decided(job, row)
            self._queue.forget(job)
        for job, deferral, held in deferrals:
            self._queue.release(job)
            if held:
                log.info("sms held for quiet hours", delivery=str(job.key),
                         until=deferral.not_before.isoformat())
                self._queue.forget(job)
                continue
            job.not_before = deferral.not_before
            job.error = deferral.error or job.error
            if self._queue.holds(job) and not self.stopping:
                self._route(job)

    def _log_decided(self, job: Job, row: DeliveryRow) -> None:
        language = job.prepared.request.language
        self._metrics.outcomes.labels(row.key.channel, language, row.state.value).inc()
        log.info(
            "notification " + row.state.value,
            delivery=str(row.key),
            booking_id=row.booking_id,
            attempts=row.attempts,
            error=row.error,
        )
