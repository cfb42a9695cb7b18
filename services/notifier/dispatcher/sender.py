"""The sender: takes ready deliveries from the queue, counts their attempts in the store (one
transaction for a group) before making them, sends them through their channels many at a
time, and hands each outcome to the recorder.

A crash after the count and before the record leaves the attempt counted and the row still
being sent: the next sweep sends it again with the same Message-ID / Idempotency-Key.
"""

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Callable, Mapping

import structlog
from jinja2 import TemplateError

from services.common.clock import Clock
from services.notifier.channels import Outbound
from services.notifier.channels import Sender as Channel
from services.notifier.dispatcher.config import UNAVAILABLE, DispatchConfig, address_of
from services.notifier.dispatcher.jobs import Job
from services.notifier.dispatcher.ready import ReadyQueue
from services.notifier.dispatcher.recorder import OutcomeRecorder
from services.notifier.domain.model import Channel as ChannelName
from services.notifier.domain.model import DeliveryState
from services.notifier.domain.request import InvalidRequest
from services.notifier.domain.retry import GiveUp, after_failure
from services.notifier.metrics import NotifierMetrics
from services.notifier.rendering import Renderer
from services.notifier.store import DeliveryStore

log = structlog.get_logger("reslot.notifier")


class DeliverySender:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        renderer: Renderer,
        channels: Mapping[ChannelName, Channel],
        queue: ReadyQueue,
        recorder: OutcomeRecorder,
        clock: Clock,
        config: DispatchConfig,
        metrics: NotifierMetrics,
        reported: Callable[[], None],  # status events are in the outbox: wake the relay
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._channels = channels
        self._queue = queue
        self._recorder = recorder
        self._clock = clock
        self._config = config
        self._metrics = metrics
        self._reported = reported
        self._jitter = jitter
        self._sends: set[asyncio.Task[None]] = set()
        self.stopping = False

    async def run(self) -> None:
        """Attempt ready deliveries as places and tokens allow, until stopped."""
        while not self.stopping:
            group = self._queue.take()
            if group:
                await self._count_and_send(group)
            else:
                await self._queue.wait()

    async def finish(self, timeout_s: float) -> None:
        """Let the sends on the wire end for up to `timeout_s`, then cancel the others."""
        tasks = list(self._sends)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, timeout_s))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _count_and_send(self, group: list[Job]) -> None:
        sendable: list[tuple[Job, Outbound]] = []
        for job in group:
            try:
                sendable.append((job, self._outbound(job)))
            except InvalidRequest as exc:
                self._queue.release(job)
                self._recorder.decide(job, DeliveryState.FAILED, f"invalid_request: {exc}")
            except TemplateError as exc:  # a template bug: failed, never a blank message
                self._queue.release(job)
                self._recorder.decide(job, DeliveryState.FAILED,
                                      f"render_error: {type(exc).__name__}")
        if not sendable:
            return
        try:
            counted = await self._store.begin_attempts(
                [job.key for job, _ in sendable], self._config.owner, self._clock.now()
            )
        except UNAVAILABLE as exc:  # not counted, so not sent: again after a pause
            log.warning("could not count attempts", error=repr(exc))
            self._queue.put_back(job for job, _ in sendable)
            await self._clock.sleep(self._config.sweep_interval_s)
            return
        if counted.superseded:
            self._reported()
        for row in counted.superseded:
            log.info("notification superseded", delivery=str(row.key), booking_id=row.booking_id)
        for job, outbound in sendable:
            attempt = counted.attempts.get(job.key)
            if attempt is None:  # no longer ours: taken over, decided elsewhere, or replaced
                self._queue.forget(job)
                continue
            job.attempts = attempt
            channel = self._channels[job.key.channel]
            task = asyncio.create_task(self._send(channel, job, outbound))
            self._queue.sending += 1
            self._sends.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._queue.sending -= 1

    def _outbound(self, job: Job) -> Outbound:
        request = job.prepared.request
        address = address_of(request, job.key.channel)
        if not address:
            raise InvalidRequest(f"no {job.key.channel} address")
        return Outbound(
            notification_id=job.key.notification_id,
            recipient_name=request.recipient.name,
            address=address,
            message=job.prepared.message(self._renderer),
        )

    async def _send(self, channel: Channel, job: Job, outbound: Outbound) -> None:
        key = job.key
        try:
            failure = await channel.send(outbound)
        except Exception as exc:
            # A bug, not a delivery failure: the row stays claimed and the next sweep retries
            # it; its attempts are counted, so it ends as failed after send_max_attempts.
            log.error("delivery task crashed", delivery=str(key), exc_info=exc)
            self._queue.forget(job)
            return
        self._metrics.attempts.labels(key.channel, "ok" if failure is None else "error").inc()
        if failure is None:
            self._recorder.decide(job, DeliveryState.DELIVERED, None)
            return
        step = after_failure(job.attempts, failure, self._config.retry, self._jitter())
        if isinstance(step, GiveUp):
            self._recorder.decide(job, DeliveryState.FAILED, step.error)
            return
        self._recorder.defer(job, self._clock.now() + dt.timedelta(seconds=step.delay_s),
                             failure.error)
        log.info(
            "send failed, will retry",
            delivery=str(key),
            booking_id=job.booking_id,
            attempt=job.attempts,
            error=failure.error,
            retry_in_s=round(step.delay_s, 3),
        )


async def finish_within(task: "asyncio.Task[None] | None", timeout_s: float) -> None:
    """Let `task` end for up to `timeout_s`, then cancel it."""
    if task is None:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait({task}, timeout=max(0.0, timeout_s))
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
