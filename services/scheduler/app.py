"""The scheduler service: one composition root that wires store, pipeline, Kafka and relay."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from services.common.faststream_kafka import SESSION, make_broker, raw_body, tolerant_parser
from services.common.kafka import ensure_topics, make_producer
from services.common.metrics import Metrics
from services.common.runtime import BATCHED_YOUNG, tune_gc
from services.common.settings import Settings
from services.scheduler.consumer import Applier, Positions
from services.scheduler.domain.process import PlanningConfig
from services.scheduler.pipeline import SCHEDULER_TOPICS, Pipeline
from services.scheduler.relay import Relay
from services.scheduler.solver.cost import parse_windows
from services.scheduler.solver.model import Policy, SolveParams
from services.scheduler.solver.solve import solve
from services.scheduler.store.sql import SchedulerStore

log = logging.getLogger("reslot.scheduler")
GROUP = "reslot-scheduler"


def planning_config(settings: Settings) -> PlanningConfig:
    """The policy and solver of the settings; ValueError (said at start) for a malformed
    RESLOT_COMMITMENT_WINDOWS."""
    try:
        windows = parse_windows(settings.commitment_windows)
    except ValueError as exc:
        raise ValueError(f"RESLOT_COMMITMENT_WINDOWS: {exc}") from None
    policy = Policy(
        horizon_days=settings.horizon_days, processing_days=settings.processing_days,
        processing_days_uncommitted=settings.processing_days_uncommitted,
        commitment_windows=windows,
        group_window_min=settings.group_window_min, unplaced_penalty=settings.unplaced_penalty,
        fairness_day_penalty=settings.fairness_day_penalty,
        day_change_penalty=settings.day_change_penalty,
        late_day_penalty=settings.late_day_penalty,
    )
    params = SolveParams(time_limit_s=settings.solver_time_limit_s,
                         workers=settings.solver_workers)
    return PlanningConfig(policy, params, solve, settings.default_slot_min,
                          waiting_horizon_days=settings.waiting_horizon_days,
                          restore_notice_min=settings.restore_notice_min,
                          advice_day_share=settings.advice_day_share)


@dataclass
class Scheduler:
    settings: Settings
    store: SchedulerStore
    pipeline: Pipeline
    positions: Positions
    applier: Applier
    broker: KafkaBroker
    metrics: Metrics
    relay: Relay | None = None


async def build_scheduler(settings: Settings, stop: asyncio.Event,
                          metrics: Metrics | None = None) -> Scheduler:
    metrics = metrics or Metrics()
    store = await SchedulerStore.open(settings.database_url)
    pipeline = Pipeline(store, planning_config(settings), metrics)
    positions = Positions(store, pipeline)
    broker = make_broker(settings.kafka, "reslot-scheduler", settings.graceful_timeout_s)

    def stored() -> None:
        if scheduler.relay is not None:
            scheduler.relay.wake.set()

    applier = Applier(pipeline, positions, stop, on_stored=stored)
    scheduler = Scheduler(settings, store, pipeline, positions, applier, broker, metrics)

    subscriber = broker.subscriber(  # type: ignore[call-overload]
        *SCHEDULER_TOPICS,
        group_id=GROUP,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=100,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,  # the store, not Kafka's commit, records what was applied
        listener=positions,
        partition_assignment_strategy=(RangePartitionAssignor,),  # keeps co-partitioning
        parser=tolerant_parser,  # a bad header must reach the handler, to be dead-lettered
        decoder=raw_body,  # the pipeline parses (and dead-letters) the bytes itself
        **SESSION,
    )

    @subscriber  # type: ignore[untyped-decorator]
    async def on_batch(message: KafkaMessage) -> None:
        await applier.apply(message.raw_message)  # ConsumerRecords, as fetched
        positions.observe_lag(metrics, GROUP)

    positions.consumer_of = lambda: subscriber.consumer
    scheduler.subscriber = subscriber  # type: ignore[attr-defined]
    return scheduler


async def run_scheduler(settings: Settings, stop: asyncio.Event,
                        metrics: Metrics | None = None) -> None:
    """Run until `stop` is set; then finish the batch in hand, relay what we can, exit."""
    tune_gc(young=BATCHED_YOUNG)
    await ensure_topics(settings)
    own_stop = asyncio.Event()  # set first on shutdown: a retrying batch gives up
    scheduler = await build_scheduler(settings, own_stop, metrics)
    async with contextlib.AsyncExitStack() as resources:
        resources.push_async_callback(scheduler.store.close)
        producer = make_producer(settings)
        await producer.start()
        resources.push_async_callback(producer.stop)
        relay = Relay(scheduler.store, producer, settings.outbox_batch,
                      scheduler.positions.owned_partitions, scheduler.metrics)
        scheduler.relay = relay
        relay_stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(relay_stop))
        resources.push_async_callback(_drain, relay, relay_stop, relay_task)
        resources.push_async_callback(scheduler.applier.settle)  # the last write, then relay
        await scheduler.broker.start()
        resources.push_async_callback(scheduler.broker.stop)  # waits for the batch in hand
        resources.callback(own_stop.set)
        log.info("scheduler started: group %s, database %s", GROUP,
                 settings.database_url.split("@")[-1])
        await stop.wait()
    log.info("scheduler stopped")


async def _drain(relay: Relay, relay_stop: asyncio.Event, relay_task: asyncio.Task[None]) -> None:
    relay_stop.set()
    await relay_task
    try:
        await relay.drain(timeout=5.0)
    except TimeoutError:
        log.warning("outbox not fully relayed at shutdown; the next owner will")
