"""The scheduler's composition root: `create_app(settings)` builds every part once, in
dependency order, with no setter after construction; `SchedulerApp` starts and stops them.

    store ─▶ pipelines, writers (one per lane) ─▶ consumer ─▶ positions (the rebalance
          listener) ─▶ producer ─▶ relay ─▶ appliers, lanes ─▶ consumption (the fetch loop)

Nothing connects until `start()`: building is free of I/O (aiokafka's clients only need the
running event loop, so call `create_app` inside it).
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from schemas.topics import INPUT_TOPICS, Topic
from services.common.clock import Clock, SystemClock
from services.common.failures import SettingError
from services.common.kafka import SESSION, client_options, ensure_topics, make_producer
from services.common.metrics import Metrics
from services.common.runtime import tune_scheduler
from services.common.settings import Settings
from services.scheduler.consumer import GROUP, Applier, Writer
from services.scheduler.domain.offers import ReplyPolicy
from services.scheduler.domain.process import PlanningConfig
from services.scheduler.lanes import Consumption, Lane
from services.scheduler.ownership import Ownership
from services.scheduler.pipeline import Pipeline
from services.scheduler.positions import Positions
from services.scheduler.relay import Relay
from services.scheduler.solver.cost import parse_windows
from services.scheduler.solver.model import Policy, SolveParams
from services.scheduler.solver.solve import solve
from services.scheduler.store.sql import SchedulerStore, make_engine

log = logging.getLogger("reslot.scheduler")

SCHEDULER_TOPICS: tuple[str, ...] = (*[str(t) for t in INPUT_TOPICS], str(Topic.OUTAGES))


def planning_config(settings: Settings) -> PlanningConfig:
    """The policy and solver of the settings; SettingError (said in one line at start) for a
    malformed RESLOT_COMMITMENT_WINDOWS or a retention that would outlive a reply link."""
    try:
        windows = parse_windows(settings.commitment_windows)
    except ValueError as exc:
        raise SettingError(f"RESLOT_COMMITMENT_WINDOWS: {exc}") from None
    policy = Policy(
        horizon_days=settings.horizon_days, processing_days=settings.processing_days,
        processing_days_uncommitted=settings.processing_days_uncommitted,
        commitment_windows=windows,
        group_window_min=settings.group_window_min, unplaced_penalty=settings.unplaced_penalty,
        fairness_day_penalty=settings.fairness_day_penalty,
        day_change_penalty=settings.day_change_penalty,
        late_day_penalty=settings.late_day_penalty,
    )
    if settings.retain_past_days <= settings.link_days_after_slot:
        raise SettingError("RESLOT_RETAIN_PAST_DAYS: must be more than "
                           "RESLOT_LINK_DAYS_AFTER_SLOT (a reply link must find its booking)")
    params = SolveParams(time_limit_s=settings.solver_time_limit_s,
                         workers=settings.solver_workers)
    secrets = settings.link_secret_list()
    replies = ReplyPolicy(settings.reply_window_h, settings.reply_before_slot_h,
                          settings.in_review, secrets[0] if secrets else None,
                          settings.public_url, settings.link_days_after_slot,
                          settings.reply_dedupe_days)
    return PlanningConfig(policy, params, solve, settings.default_slot_min,
                          waiting_horizon_days=settings.waiting_horizon_days,
                          restore_notice_min=settings.restore_notice_min,
                          advice_day_share=settings.advice_day_share, replies=replies,
                          retain_past_days=settings.retain_past_days)


def plan_pipeline(settings: Settings, *, clock: Clock | None = None,
                  ) -> Callable[[SchedulerStore], Pipeline]:
    """The pipeline of `reslot plan` (dryrun.py) on its temporary store: one partition."""
    config = planning_config(settings)
    return lambda store: Pipeline(store, config, clock=clock or SystemClock())


def create_app(settings: Settings, *, clock: Clock | None = None,
               metrics: Metrics | None = None) -> "SchedulerApp":
    """Every part of the scheduler, wired once; nothing connects until `start()`."""
    config = planning_config(settings)  # first: a setting it refuses leaves nothing open
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    store = SchedulerStore(make_engine(settings.database_url))
    ownership = Ownership(settings.partitions)
    consumer = AIOKafkaConsumer(
        **client_options(settings.kafka),
        client_id="reslot-scheduler",
        group_id=GROUP,
        enable_auto_commit=False,  # the store, not Kafka's commit, records what was applied
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),  # keeps co-partitioning
        max_poll_records=settings.batch_max_records,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,  # a reply waits no longer than this
        **SESSION,
    )
    producer = make_producer(settings)
    stopping = asyncio.Event()  # set first on shutdown: a batch waiting for the store gives up
    wake_relay = asyncio.Event()
    count = min(settings.lanes, settings.partitions)
    outages: dict[int, int] = {}  # the active-outages gauge sums every lane's
    pipelines = [Pipeline(store, config, ownership=ownership, metrics=metrics, clock=clock,
                          outages=outages) for _ in range(count)]
    writers = [Writer(p, on_stored=wake_relay.set) for p in pipelines]
    writes = Writes(writers)
    positions = Positions(store, consumer, settle=writes.settle, forget=writes.forget)
    relay = Relay(store, producer, settings.outbox_batch, positions.owned_partitions, metrics,
                  wake=wake_relay)
    lanes: list[Lane] = []
    for index, (pipeline, writer) in enumerate(zip(pipelines, writers, strict=True)):
        applier = Applier(pipeline, positions, writer, stopping,
                          partitions=_lane_partitions(positions, count, index))
        lanes.append(Lane(index, applier, positions, clock, settings.batch_max_records,
                          settings.reply_tick_s))
    consumption = Consumption(consumer, lanes, positions, metrics, settings.batch_max_records)
    return SchedulerApp(settings, clock, metrics, store, positions, writes, relay, consumer,
                        producer, consumption, stopping)


def _lane_partitions(positions: Positions, count: int, index: int) -> Callable[[], set[int]]:
    return lambda: {p for p in positions.owned_partitions() if p % count == index}


@dataclass
class Writes:
    """Every lane's Writer: settled (and caches forgotten) together on a rebalance."""

    writers: list[Writer]

    async def settle(self) -> None:
        for writer in self.writers:
            await writer.settle()

    def forget(self) -> None:
        for writer in self.writers:
            writer.pipeline.forget()


@dataclass
class SchedulerApp:
    """The running scheduler: `run(stop)`, or `start()` then `stop()`. The HTTP front reads
    `store` (status queries), `metrics.registry` (/metrics) and `ready` (/readyz)."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    store: SchedulerStore
    positions: Positions
    writes: "Writes"
    relay: Relay
    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    consumption: Consumption
    stopping: asyncio.Event
    _resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """Topics, tables, producer, consumer (joins the group), relay and fetch loop."""
        tune_scheduler()  # a lane's long plan in its thread delays the others less
        try:
            await ensure_topics(self.settings)
            await self.store.create_tables()
            self._resources.push_async_callback(self.store.close)
            await self.producer.start()
            self._resources.push_async_callback(self.producer.stop)
            self.consumer.subscribe(SCHEDULER_TOPICS, listener=self.positions)
            await self.consumer.start()
            self._resources.push_async_callback(self.consumer.stop)  # leaves the group
        except BaseException:
            await self._resources.aclose()
            raise
        relay_stop = asyncio.Event()
        relay_task = asyncio.create_task(self.relay.run(relay_stop), name="scheduler-relay")
        self._resources.push_async_callback(self._drain, relay_stop, relay_task)
        self._resources.push_async_callback(self.writes.settle)  # the last writes, then relay
        consuming = asyncio.create_task(self.consumption.run(self.stopping),
                                        name="scheduler-consume")
        self._resources.push_async_callback(self._finish, consuming)
        self._tasks = [consuming, relay_task]
        log.info("scheduler started: group %s, database %s", GROUP,
                 self.settings.database_url.split("@")[-1])

    async def stop(self) -> None:
        """Finish the batch in hand (within the graceful timeout), store it, relay what can
        be relayed while the partitions are still ours, then leave the group."""
        self.stopping.set()
        await self._resources.aclose()
        log.info("scheduler stopped")

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set (or a part fails: then stop, raising its error)."""
        await self.start()
        waiting = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([waiting, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            await self.stop()

    async def ready(self) -> None:
        """Readiness: running, and the database answers (raises otherwise)."""
        if not self._tasks or any(t.done() for t in self._tasks) or self.stopping.is_set():
            raise RuntimeError("the scheduler is not running")
        await self.store.ping()

    async def _finish(self, consuming: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(consuming), self.settings.graceful_timeout_s)
        except TimeoutError:
            log.warning("the batch in hand took longer than the graceful timeout; dropped, "
                        "it is read again from the stored offsets")
            consuming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consuming

    async def _drain(self, relay_stop: asyncio.Event, relay_task: asyncio.Task[None]) -> None:
        relay_stop.set()
        await relay_task
        try:
            await self.relay.drain(timeout=min(5.0, self.settings.graceful_timeout_s / 2))
        except TimeoutError:
            log.warning("outbox not fully relayed at shutdown; the next owner will")
