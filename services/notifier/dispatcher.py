"""Sends claimed deliveries: concurrent tasks, rate limits, retries, quiet hours, leases.

The store drives everything: a task reloads its row before each attempt, counts the attempt
before making it and records the outcome after, so a crash at any point leaves a row that the
next sweep (of this instance after a restart, or of another once the lease has run out) sends
again with the same Message-ID / Idempotency-Key.
"""

import asyncio
import contextlib
import datetime as dt
import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from schemas.data import NotificationRequested
from services.notifier.channels import Outbound, Sender
from services.notifier.clock import Clock
from services.notifier.domain.delivery import Fail, Hold, Wait, next_step
from services.notifier.domain.model import Channel, DeliveryKey, DeliveryState
from services.notifier.domain.quiet_hours import sms_not_before
from services.notifier.domain.request import InvalidRequest, centre_timezone
from services.notifier.domain.retry import GiveUp, RetryPolicy, after_failure
from services.notifier.domain.status import Outcome, StatusEvent, status_event
from services.notifier.metrics import NotifierMetrics
from services.notifier.ratelimit import TokenBucket
from services.notifier.rendering import Renderer
from services.notifier.store import DeliveryRow, DeliveryStore

log = structlog.get_logger("reslot.notifier")

PublishStatus = Callable[[Sequence[StatusEvent]], Awaitable[None]]

# Waits longer than this leave the task and come back through the sweep (quiet hours).
_SHORT_WAIT_S = 60.0


@dataclass(frozen=True)
class DispatchConfig:
    owner: str  # this instance's id in the store
    retry: RetryPolicy
    quiet_start: int
    quiet_end: int
    lease_s: float = 30.0
    sweep_interval_s: float = 1.0
    max_in_flight: int = 64
    report_batch: int = 500


def address_of(request: NotificationRequested, channel: Channel) -> str | None:
    return request.recipient.email if channel == "email" else request.recipient.phone


def sms_hold(
    request: NotificationRequested, now: dt.datetime, config: DispatchConfig
) -> dt.datetime | None:
    """When an SMS must wait for the end of the quiet hours at its centre, else None."""
    tz = centre_timezone(request.variables)
    return sms_not_before(now, tz, config.quiet_start, config.quiet_end)


class Dispatcher:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        renderer: Renderer,
        senders: Mapping[Channel, Sender],
        limits: Mapping[Channel, TokenBucket],
        publish_status: PublishStatus,
        clock: Clock,
        config: DispatchConfig,
        metrics: NotifierMetrics,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._senders = senders
        self._limits = limits
        self._publish_status = publish_status
        self._clock = clock
        self._config = config
        self._metrics = metrics
        self._jitter = jitter
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._running: dict[DeliveryKey, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._report_lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sweep()  # resume what a previous run of this instance left unfinished
        self._loop_task = asyncio.create_task(self._sweep_loop(), name="notifier-sweep")

    async def stop(self, grace_s: float) -> None:
        """Stop sweeping; let sends in flight finish for up to `grace_s`, then cancel them.

        A cancelled send stays claimed in the store and is resumed by the next start.
        """
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        tasks = list(self._running.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self.report()
        except (SQLAlchemyError, KafkaError, OSError) as exc:  # published at the next start
            log.warning("could not publish the last status events", error=repr(exc))

    @property
    def sweeping(self) -> "asyncio.Task[None]":
        """The sweep loop: it only ends by cancellation, or by a bug (its exception)."""
        assert self._loop_task is not None, "start() first"
        return self._loop_task

    @property
    def in_flight(self) -> int:
        return len(self._running)

    # -- entry points ------------------------------------------------------------------------

    def submit(self, key: DeliveryKey) -> None:
        """Send `key` now (it is claimed by this instance); a no-op if already on its way."""
        if key in self._running:
            return
        task = asyncio.create_task(self._deliver(key), name=f"notify-{key}")
        self._running[key] = task
        task.add_done_callback(lambda done: self._done(key, done))

    def wake(self) -> None:
        """Ask the sweep to run soon (new status events to publish)."""
        self._wake.set()

    def _done(self, key: DeliveryKey, task: asyncio.Task[None]) -> None:
        self._running.pop(key, None)
        self._metrics.in_flight.set(len(self._running))
        if not task.cancelled() and (exc := task.exception()) is not None:
            # A bug, not a delivery failure: the row stays claimed and the next sweep retries
            # it; its attempts are counted, so it ends as failed after send_max_attempts.
            log.error("delivery task crashed", delivery=str(key), exc_info=exc)
        self.wake()

    async def _sweep_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # woken early, or the periodic sweep
                await asyncio.wait_for(self._wake.wait(), self._config.sweep_interval_s)
            self._wake.clear()
            try:
                await self.sweep()
            except (SQLAlchemyError, KafkaError, OSError) as exc:  # down: the next sweep retries
                log.warning("notifier sweep failed", error=repr(exc))
                await self._clock.sleep(self._config.sweep_interval_s)

    async def sweep(self) -> None:
        """Renew our leases, take due rows (ours, orphaned, released at 08:00), report outcomes."""
        now = self._clock.now()
        await self._store.renew(self._config.owner, now, self._config.lease_s)
        for key in await self._store.take_due(self._config.owner, now, self._config.lease_s):
            self.submit(key)
        self._metrics.in_flight.set(len(self._running))
        await self.report()

    async def report(self) -> None:
        """Publish the status event of every decided, unreported row; then mark them reported."""
        async with self._report_lock:
            while rows := await self._store.unreported(self._config.report_batch):
                await self._publish_status([_status_of(row) for row in rows])
                await self._store.mark_reported(row.key for row in rows)
                if len(rows) < self._config.report_batch:
                    return

    # -- one delivery ------------------------------------------------------------------------

    async def _deliver(self, key: DeliveryKey) -> None:
        """Send one delivery until it is decided, held for quiet hours, or no longer ours."""
        while True:
            row = await self._store.get(key)
            if row is None or row.state is not DeliveryState.SENDING:
                return  # decided
            if row.owner != self._config.owner:
                return  # taken over by another instance while we were away
            assert row.request is not None, "a claimed row keeps its request until decided"
            request = NotificationRequested.model_validate_json(row.request)
            now = self._clock.now()
            step = next_step(
                channel=key.channel,
                attempts=row.attempts,
                max_attempts=self._config.retry.max_attempts,
                not_before=row.not_before,
                last_error=row.error,
                now=now,
                quiet_until=sms_hold(request, now, self._config) if key.channel == "sms" else None,
            )
            if isinstance(step, Hold):
                await self._store.defer(key, self._config.owner, step.until, now)
                log.info(
                    "sms held for quiet hours", delivery=str(key), until=step.until.isoformat()
                )
                return
            if isinstance(step, Wait):
                if step.seconds > _SHORT_WAIT_S:
                    return  # the sweep brings it back when due
                await self._clock.sleep(step.seconds)
                continue
            if isinstance(step, Fail):
                await self._finish(row, DeliveryState.FAILED, step.error)
                return
            if not await self._attempt(row, request):
                return

    async def _attempt(self, row: DeliveryRow, request: NotificationRequested) -> bool:
        """One attempt; True when it failed transiently and is due again after a backoff."""
        key, owner = row.key, self._config.owner
        try:
            outbound = self._outbound(row, request)
        except InvalidRequest as exc:
            await self._finish(row, DeliveryState.FAILED, f"invalid_request: {exc}")
            return False
        await self._limits[key.channel].acquire()
        async with self._slots:
            attempt = await self._store.begin_attempt(key, owner, self._clock.now())
            if attempt is None:
                return False  # no longer ours
            failure = await self._senders[key.channel].send(outbound)
        self._metrics.attempts.labels(key.channel, "ok" if failure is None else "error").inc()
        if failure is None:
            await self._finish(row, DeliveryState.DELIVERED, None)
            return False
        step = after_failure(attempt, failure, self._config.retry, self._jitter())
        if isinstance(step, GiveUp):
            await self._finish(row, DeliveryState.FAILED, step.error)
            return False
        now = self._clock.now()
        await self._store.defer(
            key, owner, now + dt.timedelta(seconds=step.delay_s), now, failure.error
        )
        log.info(
            "send failed, will retry",
            delivery=str(key),
            booking_id=row.booking_id,
            attempt=attempt,
            error=failure.error,
            retry_in_s=round(step.delay_s, 3),
        )
        return True

    def _outbound(self, row: DeliveryRow, request: NotificationRequested) -> Outbound:
        address = address_of(request, row.key.channel)
        if not address:
            raise InvalidRequest(f"no {row.key.channel} address")
        return Outbound(
            notification_id=row.key.notification_id,
            recipient_name=request.recipient.name,
            address=address,
            message=self._renderer.render(request),
        )

    async def _finish(self, row: DeliveryRow, state: DeliveryState, error: str | None) -> None:
        now = self._clock.now()
        attempts = await self._store.finish(row.key, self._config.owner, state, now, error)
        if attempts is None:
            return  # no longer ours: whoever owns it now reports it
        self._metrics.outcomes.labels(row.key.channel, _language(row), state.value).inc()
        log.info(
            "notification " + state.value,
            delivery=str(row.key),
            booking_id=row.booking_id,
            attempts=attempts,
            error=error,
        )
        self.wake()


def _status_of(row: DeliveryRow) -> StatusEvent:
    assert row.finished_at is not None
    outcome: Outcome = "delivered" if row.state is DeliveryState.DELIVERED else "failed"
    return status_event(row.key, row.centre_id, outcome, row.attempts, row.error, row.finished_at)


def _language(row: DeliveryRow) -> str:
    """The request's language for the metrics label; 'unknown' once the request is erased."""
    if row.request is None:
        return "unknown"
    try:
        return str(json.loads(row.request).get("language", "unknown"))
    except (ValueError, AttributeError):
        return "unknown"
