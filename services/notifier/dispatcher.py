"""Sends claimed deliveries: rate limits, retries, quiet hours, leases, in batches.

Every delivery goes the same way, and the store sees each step in this order:

    counted   its attempt written before it is made (one transaction for a group)
    sent      through its channel, many at once
    recorded  its outcome, or when to try again (one transaction for whatever finished)
    reported  its status event published (decided rows only), then the row marked reported
              by the next transaction

A crash before the record leaves a row still being sent, its attempt counted, that the next
sweep (of this instance after a restart, or of another once the lease has run out) sends
again with the same Message-ID / Idempotency-Key; a crash after it leaves a decided row not
marked reported, whose status event is published again, with the same id. At most
`max_in_flight` deliveries are between counted and recorded at any time: that bounds what a
crash can send twice. Deliveries are attempted in the order they became ready.

The sweep runs on its timer: it renews our leases, takes the rows due (ours after a restart,
orphaned ones, SMS released at 08:00) and publishes the status of rows decided elsewhere
(at intake, or before a restart).
"""

import asyncio
import contextlib
import datetime as dt
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from aiokafka.errors import KafkaError
from jinja2 import TemplateError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from schemas.data import NotificationRequested
from services.notifier.channels import Outbound, Sender
from services.notifier.clock import Clock
from services.notifier.domain.delivery import Fail, Hold, Wait, next_step
from services.notifier.domain.model import CHANNELS, Channel, DeliveryKey, DeliveryState
from services.notifier.domain.quiet_hours import sms_not_before
from services.notifier.domain.request import InvalidRequest, centre_timezone
from services.notifier.domain.retry import GiveUp, RetryPolicy, after_failure
from services.notifier.domain.status import Outcome, StatusEvent, status_event
from services.notifier.metrics import NotifierMetrics
from services.notifier.ratelimit import TokenBucket
from services.notifier.rendering import RenderedMessage, Renderer
from services.notifier.store import Decision, Deferral, DeliveryRow, DeliveryStore

log = structlog.get_logger("reslot.notifier")

PublishStatus = Callable[[Sequence[StatusEvent]], Awaitable[None]]

# The store or the broker is down: keep what is in hand and try again shortly.
_UNAVAILABLE = (SQLAlchemyError, KafkaError, OSError)

# Waits longer than this leave this instance's hands and come back through the sweep.
_SHORT_WAIT_S = 60.0


@dataclass(frozen=True)
class DispatchConfig:
    owner: str  # this instance's id in the store
    retry: RetryPolicy
    quiet_start: int
    quiet_end: int
    lease_s: float = 30.0
    sweep_interval_s: float = 1.0
    max_in_flight: int = 64  # deliveries between counted and recorded
    report_batch: int = 500
    # How long outcomes wait for others to share their transaction (while sends are still
    # running): each transaction costs a hand-off and a sync to disk, one more row in it little.
    linger_s: float = 0.005


def address_of(request: NotificationRequested, channel: Channel) -> str | None:
    return request.recipient.email if channel == "email" else request.recipient.phone


def sms_hold(
    request: NotificationRequested, now: dt.datetime, config: DispatchConfig
) -> dt.datetime | None:
    """When an SMS must wait for the end of the quiet hours at its centre, else None."""
    tz = centre_timezone(request.variables)
    return sms_not_before(now, tz, config.quiet_start, config.quiet_end)


class Prepared:
    """A request and its message, rendered at most once for all of its channels."""

    __slots__ = ("_message", "request")

    def __init__(
        self, request: NotificationRequested, message: RenderedMessage | None = None
    ) -> None:
        self.request = request
        self._message = message

    def message(self, renderer: Renderer) -> RenderedMessage:
        if self._message is None:
            self._message = renderer.render(self.request)
        return self._message


class Job:
    """One delivery in this instance's hands: its row as last written, and its request."""

    __slots__ = ("attempts", "booking_id", "centre_id", "error", "held", "key", "not_before",
                 "prepared", "seq", "slot")

    def __init__(self, row: DeliveryRow, prepared: Prepared) -> None:
        self.key = row.key
        self.booking_id = row.booking_id
        self.centre_id = row.centre_id
        self.prepared = prepared
        self.attempts = row.attempts
        self.not_before = row.not_before
        self.error = row.error
        self.slot = False  # holds one of the max_in_flight places (counted, not recorded)
        self.seq = 0  # when it became ready: deliveries are attempted in that order
        self.held = False  # deferred for quiet hours: leaves our hands once that is stored


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
        self._owner = config.owner
        self._free = config.max_in_flight  # places between counted and recorded
        self._jobs: dict[DeliveryKey, Job] = {}
        self._ready: dict[Channel, deque[Job]] = {c: deque() for c in CHANNELS}
        self._attempt_signal = asyncio.Event()  # a job ready, or a place free
        self._readied = 0  # jobs made ready so far: their order
        self._timers: dict[DeliveryKey, asyncio.TimerHandle] = {}
        self._sends: set[asyncio.Task[None]] = set()
        # Outcomes to record in the next transaction, in order; removed once stored.
        self._decisions: list[tuple[Job, Decision]] = []
        self._deferrals: list[tuple[Job, Deferral]] = []
        self._record_signal = asyncio.Event()
        self._record_lock = asyncio.Lock()
        # Rows decided here, recorded, whose status event is to be published; then their keys,
        # published, to be marked reported by the next transaction. `_in_hand` holds every key
        # from its decision until marked: the store's unreported rows among them are left to
        # this path (else published twice).
        self._to_report: list[DeliveryRow] = []
        self._published: list[DeliveryKey] = []
        self._in_hand: set[DeliveryKey] = set()
        self._report_lock = asyncio.Lock()
        self._report_signal = asyncio.Event()  # rows decided elsewhere to publish (wake)
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None  # watches the loops below
        self._sweep_task: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._attempts_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sweep()  # resume what a previous run of this instance left unfinished
        self._attempts_task = asyncio.create_task(self._attempt_loop(), name="notifier-attempts")
        self._workers = [
            asyncio.create_task(self._outcome_loop(), name="notifier-outcomes"),
            asyncio.create_task(self._report_loop(), name="notifier-report"),
        ]
        self._sweep_task = asyncio.create_task(self._sweep_loop(), name="notifier-sweep")
        self._loop_task = asyncio.create_task(self._watch(), name="notifier-loops")

    async def stop(self, grace_s: float) -> None:
        """Stop sweeping and counting; let sends in flight finish for up to `grace_s`, then
        cancel them; record and report what finished.

        A cancelled send stays claimed in the store and is resumed by the next start.
        """
        deadline = self._clock.monotonic() + grace_s
        self._stopping = True
        for task in (self._loop_task, self._sweep_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._attempt_signal.set()
        if self._attempts_task is not None:
            await _finish_within([self._attempts_task], deadline - self._clock.monotonic())
        await _finish_within(list(self._sends), deadline - self._clock.monotonic())
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        try:
            await self._record()
            await self._publish_decided()
            await self._record()  # marks what was just published
            await self.report()
        except _UNAVAILABLE as exc:  # recorded and published at the next start
            log.warning("could not record or publish the last outcomes", error=repr(exc))

    @property
    def sweeping(self) -> "asyncio.Task[None]":
        """The dispatcher's loops: this task only ends by cancellation, or by a bug in one of
        them (its exception), after which nothing would be sent any more."""
        assert self._loop_task is not None, "start() first"
        return self._loop_task

    async def _watch(self) -> None:
        loops = [t for t in (self._sweep_task, self._attempts_task, *self._workers) if t]
        done, _ = await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a bug: its exception ends this task
        raise RuntimeError(f"notifier loop {next(iter(done)).get_name()} ended")

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    # -- entry points ------------------------------------------------------------------------

    def submit(self, row: DeliveryRow, prepared: Prepared | None = None) -> None:
        """Send the claimed `row` (ours); a no-op if it is already in hand. `prepared` carries
        the request and its message when the caller has them (else read from the row)."""
        if row.key in self._jobs or self._stopping:
            return
        if prepared is None:
            prepared = _prepared_from(row)
            if prepared is None:
                return
        job = Job(row, prepared)
        self._jobs[job.key] = job
        self._metrics.in_flight.set(len(self._jobs))
        self._route(job)

    def wake(self) -> None:
        """Publish soon the status of rows decided without sending (at intake, or before)."""
        self._report_signal.set()

    async def sweep(self) -> None:
        """Renew our leases, take due rows (ours, orphaned, released at 08:00), report outcomes."""
        now = self._clock.now()
        await self._store.renew(self._owner, now, self._config.lease_s)
        due = await self._store.take_due(self._owner, now, self._config.lease_s)
        rows = await self._store.rows([key for key in due if key not in self._jobs])
        shared: dict[str, Prepared] = {}  # one request, one rendering, for both channels
        for key in sorted(rows):
            row = rows[key]
            if row.state is not DeliveryState.SENDING or row.owner != self._owner:
                continue
            prepared = shared.get(row.request or "") or _prepared_from(row)
            if prepared is not None and row.request:
                shared[row.request] = prepared
                self.submit(row, prepared)
        self._metrics.in_flight.set(len(self._jobs))
        await self.report()

    async def report(self) -> None:
        """Publish the status event of every decided, unreported row; then mark them reported."""
        async with self._report_lock:
            batch_size = self._config.report_batch
            while rows := await self._store.unreported(batch_size):
                mine = [row for row in rows if row.key not in self._in_hand]
                if mine:
                    await self._publish_status([_status_of(row) for row in mine])
                    await self._store.mark_reported(row.key for row in mine)
                if len(rows) < batch_size or not mine:
                    return

    # -- the steps of a delivery --------------------------------------------------------------

    def _route(self, job: Job) -> None:
        """Queue `job` for its next step: an attempt, a wait, a hold, or failing it."""
        now = self._clock.now()
        request = job.prepared.request
        try:
            quiet = sms_hold(request, now, self._config) if job.key.channel == "sms" else None
        except InvalidRequest as exc:
            self._decide(job, DeliveryState.FAILED, f"invalid_request: {exc}")
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
            job.held = True
            self._defer(job, step.until, None)
        elif isinstance(step, Wait):
            if step.seconds > _SHORT_WAIT_S:
                self._forget(job)  # the sweep brings it back when due
            else:
                loop = asyncio.get_running_loop()
                self._timers[job.key] = loop.call_later(step.seconds, self._due, job)
        elif isinstance(step, Fail):
            self._decide(job, DeliveryState.FAILED, step.error)
        else:
            self._readied += 1
            job.seq = self._readied
            self._ready[job.key.channel].append(job)
            self._attempt_signal.set()

    def _due(self, job: Job) -> None:
        self._timers.pop(job.key, None)
        if not self._stopping and self._jobs.get(job.key) is job:
            self._route(job)

    async def _attempt_loop(self) -> None:
        """Take ready deliveries as places and tokens allow, count their attempts in one
        transaction, and start sending them."""
        while not self._stopping:
            self._attempt_signal.clear()
            group = self._take_ready()
            if group:
                await self._count_and_send(group)
                continue
            waiting = [c for c in CHANNELS if self._ready[c]]
            if waiting and self._free > 0:  # out of tokens: until the next one, or news
                next_token_s = min(self._limits[c].seconds_to_token() for c in waiting)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._attempt_signal.wait(), next_token_s)
            else:
                await self._attempt_signal.wait()

    def _take_ready(self) -> list[Job]:
        """Ready deliveries in the order they became ready, while places last; a channel out
        of tokens does not hold up the other."""
        group: list[Job] = []
        while self._free > 0:
            heads = sorted((q[0].seq, c) for c, q in self._ready.items() if q)
            channel = next((c for _, c in heads if self._limits[c].try_acquire()), None)
            if channel is None:
                return group
            job = self._ready[channel].popleft()
            job.slot = True
            self._free -= 1
            group.append(job)
        return group

    async def _count_and_send(self, group: list[Job]) -> None:
        sendable: list[tuple[Job, Outbound]] = []
        for job in group:
            try:
                sendable.append((job, self._outbound(job)))
            except InvalidRequest as exc:
                self._release(job)
                self._decide(job, DeliveryState.FAILED, f"invalid_request: {exc}")
            except TemplateError as exc:  # a template bug: failed, never a blank message
                self._release(job)
                self._decide(job, DeliveryState.FAILED, f"render_error: {type(exc).__name__}")
        if not sendable:
            return
        try:
            counted = await self._store.begin_attempts(
                [job.key for job, _ in sendable], self._owner, self._clock.now()
            )
        except _UNAVAILABLE as exc:  # not counted, so not sent: again after a pause
            log.warning("could not count attempts", error=repr(exc))
            for job, _ in reversed(sendable):
                self._release(job)
                self._ready[job.key.channel].appendleft(job)
            await self._clock.sleep(self._config.sweep_interval_s)
            return
        for job, outbound in sendable:
            attempt = counted.get(job.key)
            if attempt is None:  # no longer ours: taken over, or decided elsewhere
                self._forget(job)
                continue
            job.attempts = attempt
            task = asyncio.create_task(self._send(self._senders[job.key.channel], job, outbound))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

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

    async def _send(self, sender: Sender, job: Job, outbound: Outbound) -> None:
        key = job.key
        try:
            failure = await sender.send(outbound)
        except Exception as exc:
            # A bug, not a delivery failure: the row stays claimed and the next sweep retries
            # it; its attempts are counted, so it ends as failed after send_max_attempts.
            log.error("delivery task crashed", delivery=str(key), exc_info=exc)
            self._forget(job)
            return
        self._metrics.attempts.labels(key.channel, "ok" if failure is None else "error").inc()
        if failure is None:
            self._decide(job, DeliveryState.DELIVERED, None)
            return
        step = after_failure(job.attempts, failure, self._config.retry, self._jitter())
        if isinstance(step, GiveUp):
            self._decide(job, DeliveryState.FAILED, step.error)
            return
        self._defer(job, self._clock.now() + dt.timedelta(seconds=step.delay_s), failure.error)
        log.info(
            "send failed, will retry",
            delivery=str(key),
            booking_id=job.booking_id,
            attempt=job.attempts,
            error=failure.error,
            retry_in_s=round(step.delay_s, 3),
        )

    def _decide(self, job: Job, state: DeliveryState, error: str | None) -> None:
        self._decisions.append((job, Decision(job.key, state, error)))
        self._in_hand.add(job.key)
        self._record_signal.set()

    def _defer(self, job: Job, not_before: dt.datetime, error: str | None) -> None:
        self._deferrals.append((job, Deferral(job.key, not_before, error)))
        self._record_signal.set()

    def _release(self, job: Job) -> None:
        if job.slot:
            job.slot = False
            self._free += 1
            self._attempt_signal.set()

    def _forget(self, job: Job) -> None:
        """`job` leaves this instance's hands (its row stays as stored)."""
        self._release(job)
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
        timer = self._timers.pop(job.key, None)
        if timer is not None:
            timer.cancel()
        self._metrics.in_flight.set(len(self._jobs))

    # -- recording and reporting -------------------------------------------------------------

    async def _outcome_loop(self) -> None:
        """Record what finished in one transaction, then publish the status of what it
        decided; their marks as reported go with the next transaction."""
        while True:
            await self._record_signal.wait()
            if self._sends:  # more outcomes to come: let them join this transaction
                await asyncio.sleep(self._config.linger_s)
            self._record_signal.clear()
            try:
                await self._record()
                await self._publish_decided()
            except _UNAVAILABLE as exc:  # kept in hand: recorded once the store is back
                log.warning("could not record or publish outcomes", error=repr(exc))
                await self._clock.sleep(self._config.sweep_interval_s)
                self._record_signal.set()

    async def _record(self) -> None:
        """Store the outcomes and deferrals in hand, and the marks of the status events
        published, in one transaction; then let them go."""
        async with self._record_lock:
            decisions, deferrals = self._decisions[:], self._deferrals[:]
            published = self._published[:]
            if not (decisions or deferrals or published):
                return
            decided = await self._store.record(
                [d for _, d in decisions],
                [d for _, d in deferrals],
                self._owner,
                self._clock.now(),
                reported=published,
            )
            del self._decisions[: len(decisions)], self._deferrals[: len(deferrals)]
            del self._published[: len(published)]
        self._in_hand.difference_update(published)
        recorded = {row.key: row for row in decided}
        for job, _ in decisions:
            row = recorded.get(job.key)
            if row is None:  # no longer ours: whoever owns it now reports it
                self._in_hand.discard(job.key)
            else:
                self._to_report.append(row)
                self._decided(job, row)
            self._forget(job)
        for job, deferral in deferrals:
            self._release(job)
            if job.held:
                log.info("sms held for quiet hours", delivery=str(job.key),
                         until=deferral.not_before.isoformat())
                self._forget(job)
                continue
            job.not_before = deferral.not_before
            job.error = deferral.error or job.error
            if self._jobs.get(job.key) is job and not self._stopping:
                self._route(job)

    def _decided(self, job: Job, row: DeliveryRow) -> None:
        language = job.prepared.request.language
        self._metrics.outcomes.labels(row.key.channel, language, row.state.value).inc()
        log.info(
            "notification " + row.state.value,
            delivery=str(row.key),
            booking_id=row.booking_id,
            attempts=row.attempts,
            error=row.error,
        )

    async def _publish_decided(self) -> None:
        """Publish the status events of the rows recorded here; marked by the next record."""
        async with self._report_lock:
            while self._to_report:
                batch = self._to_report[: self._config.report_batch]
                await self._publish_status([_status_of(row) for row in batch])
                del self._to_report[: len(batch)]
                self._published.extend(row.key for row in batch)
        if self._published:
            self._record_signal.set()

    async def _report_loop(self) -> None:
        """Publish the status of rows decided elsewhere, when woken (the sweep does too)."""
        while True:
            await self._report_signal.wait()
            await asyncio.sleep(self._config.linger_s)
            self._report_signal.clear()
            try:
                await self.report()
            except _UNAVAILABLE as exc:  # the rows stay unreported: published again later
                log.warning("could not publish status events", error=repr(exc))
                await self._clock.sleep(self._config.sweep_interval_s)
                self._report_signal.set()

    async def _sweep_loop(self) -> None:
        while True:
            await self._clock.sleep(self._config.sweep_interval_s)
            try:
                await self.sweep()
            except _UNAVAILABLE as exc:  # down: the next sweep retries
                log.warning("notifier sweep failed", error=repr(exc))


async def _finish_within(tasks: Iterable[asyncio.Task[None]], timeout_s: float) -> None:
    """Let `tasks` end for up to `timeout_s`, then cancel those still running."""
    tasks = list(tasks)
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, timeout_s))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _prepared_from(row: DeliveryRow) -> Prepared | None:
    """The stored request of a claimed row; None (and a log line) if it cannot be read."""
    if row.request is None:
        log.error("claimed row without its request", delivery=str(row.key))
        return None
    try:
        return Prepared(NotificationRequested.model_validate_json(row.request))
    except ValidationError:
        log.error("stored request unreadable", delivery=str(row.key))
        return None


def _status_of(row: DeliveryRow) -> StatusEvent:
    assert row.finished_at is not None
    outcome: Outcome = "delivered" if row.state is DeliveryState.DELIVERED else "failed"
    return status_event(row.key, row.centre_id, outcome, row.attempts, row.error, row.finished_at)

