"""The dispatcher: claimed deliveries routed to their next step, through three parts:

    ReadyQueue       what is in hand, and what may be attempted now (rate limits, places)
    DeliverySender   counts attempts, sends, hands over outcomes
    OutcomeRecorder  records outcomes with their status events (the outbox), in batches

The store sees each delivery in this order: counted (its attempt written before it is
made), sent, recorded (with its status event, in one transaction). Status events leave
through the outbox, published by the relay.

The sweep runs on its timer: it renews our leases and takes the rows due (ours after a
restart, orphaned ones, SMS released at 08:00).
"""

import asyncio
import random
from collections.abc import Callable, Mapping

import structlog

from services.common.clock import Clock
from services.notifier.channels import Sender as Channel
from services.notifier.dispatcher.config import (
    SHORT_WAIT_S,
    UNAVAILABLE,
    DispatchConfig,
    sms_hold,
)
from services.notifier.dispatcher.jobs import Job, Prepared, prepared_from
from services.notifier.dispatcher.ready import ReadyQueue
from services.notifier.dispatcher.recorder import OutcomeRecorder
from services.notifier.dispatcher.sender import DeliverySender, finish_within
from services.notifier.domain.delivery import Fail, Hold, Wait, next_step
from services.notifier.domain.model import Channel as ChannelName
from services.notifier.domain.model import DeliveryState
from services.notifier.domain.request import InvalidRequest
from services.notifier.metrics import NotifierMetrics
from services.notifier.ratelimit import TokenBucket
from services.notifier.rendering import Renderer
from services.notifier.store import DeliveryRow, DeliveryStore

log = structlog.get_logger("reslot.notifier")


class Dispatcher:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        renderer: Renderer,
        senders: Mapping[ChannelName, Channel],
        limits: Mapping[ChannelName, TokenBucket],
        clock: Clock,
        config: DispatchConfig,
        metrics: NotifierMetrics,
        reported: Callable[[], None] = lambda: None,  # status events in the outbox
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._clock = clock
        self._config = config
        self.queue = ReadyQueue(limits, config.max_in_flight, metrics)
        self.recorder = OutcomeRecorder(store=store, queue=self.queue, clock=clock,
                                        config=config, metrics=metrics, route=self._route,
                                        reported=reported)
        self.sender = DeliverySender(store=store, renderer=renderer, channels=senders,
                                     queue=self.queue, recorder=self.recorder, clock=clock,
                                     config=config, metrics=metrics, reported=reported,
                                     jitter=jitter)
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sweep()  # resume what a previous run of this instance left unfinished
        self._tasks = [
            asyncio.create_task(self.sender.run(), name="notifier-sender"),
            asyncio.create_task(self.recorder.run(), name="notifier-recorder"),
            asyncio.create_task(self._sweep_loop(), name="notifier-sweep"),
        ]
        self._watch = asyncio.create_task(self._watching(), name="notifier-loops")

    async def stop(self, grace_s: float) -> None:
        """Stop sweeping and attempting; let sends on the wire finish for up to `grace_s`,
        then cancel them; record what finished. A cancelled send stays claimed in the store
        and is resumed by the next start."""
        deadline = self._clock.monotonic() + grace_s
        self._stopping = self.sender.stopping = self.recorder.stopping = True
        sender, recorder, sweep = self._tasks or (None, None, None)
        for task in (self._watch, sweep):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.queue.wake()
        await finish_within(sender, deadline - self._clock.monotonic())
        await self.sender.finish(deadline - self._clock.monotonic())
        self.queue.close()
        if recorder is not None:
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
        try:
            await self.recorder.record()
        except UNAVAILABLE as exc:  # sent again at the next start, with the same ids
            log.warning("could not record the last outcomes", error=repr(exc))

    @property
    def sweeping(self) -> "asyncio.Task[None]":
        """The dispatcher's loops: this task only ends by cancellation, or by a bug in one of
        them (its exception), after which nothing would be sent any more."""
        assert self._watch is not None, "start() first"
        return self._watch

    async def _watching(self) -> None:
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a bug: its exception ends this task
        raise RuntimeError(f"notifier loop {next(iter(done)).get_name()} ended")

    @property
    def in_flight(self) -> int:
        return len(self.queue)

    # -- entry points ------------------------------------------------------------------------

    def submit(self, row: DeliveryRow, prepared: Prepared | None = None) -> None:
        """Send the claimed `row` (ours); a no-op if it is already in hand. `prepared` carries
        the request and its message when the caller has them (else read from the row)."""
        if row.key in self.queue or self._stopping:
            return
        prepared = prepared or prepared_from(row)
        if prepared is not None:
            job = Job(row, prepared)
            self.queue.add(job)
            self._route(job)

    async def sweep(self) -> None:
        """Renew our leases; take due rows (ours, orphaned, released at 08:00) in hand."""
        now, owner = self._clock.now(), self._config.owner
        await self._store.renew(owner, now, self._config.lease_s)
        due = await self._store.take_due(owner, now, self._config.lease_s)
        rows = await self._store.rows([key for key in due if key not in self.queue])
        shared: dict[str, Prepared] = {}  # one request, one rendering, for both channels
        # The least tried first: a message whose sends crashes cut short (a crash loop, or a
        # message that crashes us) goes behind the others instead of first at every restart.
        for key in sorted(rows, key=lambda k: (rows[k].attempts, k)):
            row = rows[key]
            if row.state is not DeliveryState.SENDING or row.owner != owner or not row.request:
                continue
            prepared = shared.get(row.request) or prepared_from(row)
            if prepared is not None:
                shared[row.request] = prepared
                self.submit(row, prepared)

    async def _sweep_loop(self) -> None:
        while True:
            await self._clock.sleep(self._config.sweep_interval_s)
            try:
                await self.sweep()
            except UNAVAILABLE as exc:  # down: the next sweep retries
                log.warning("notifier sweep failed", error=repr(exc))

    # -- routing -----------------------------------------------------------------------------

    def _route(self, job: Job) -> None:
        """`job`'s next step: an attempt, a wait, a hold for quiet hours, or failing it."""
        now = self._clock.now()
        request = job.prepared.request
        try:
            quiet = sms_hold(request, now, self._config) if job.key.channel == "sms" else None
        except InvalidRequest as exc:
            self.recorder.decide(job, DeliveryState.FAILED, f"invalid_request: {exc}")
            return
        step = next_step(
            channel=job.key.channel,
            attempts=job.attempts,
            max_attempts=self._config.retry.max_attempts,
            not_before=job.not_before,
            last_error=job.error,
            now=now,
            quiet_until=quiet,
        )
        if isinstance(step, Hold):
            self.recorder.defer(job, step.until, None, held=True)
        elif isinstance(step, Wait):
            if step.seconds > SHORT_WAIT_S:
                self.queue.forget(job)  # the sweep brings it back when due
            else:
                self.queue.later(job, step.seconds, self._due)
        elif isinstance(step, Fail):
            self.recorder.decide(job, DeliveryState.FAILED, step.error)
        else:
            self.queue.push(job)

    def _due(self, job: Job) -> None:
        if not self._stopping:
            self._route(job)
