"""The notifier's one composition root: `create_app(settings)` builds every part in dependency
order, connecting nothing; `start()` opens them in that order, `stop()` closes them in the
reverse one, `run(stop_event)` does both around a wait (the `reslot notifier` CLI).

    store -> producer -> senders -> renderer -> ready queue, sender, recorder (dispatcher)
          -> relay -> intake -> Kafka edge -> FastStream broker
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import structlog
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from schemas.topics import Topic
from services.common.clock import Clock, SystemClock
from services.common.kafka import ensure_topics, make_producer, publish_all
from services.common.runtime import tune_gc
from services.common.settings import Settings
from services.notifier.broker import notifier_broker
from services.notifier.channels import Sender
from services.notifier.channels.sms import SmsSender
from services.notifier.channels.smtp import SmtpSender
from services.notifier.dispatcher import DispatchConfig, Dispatcher
from services.notifier.domain.model import Channel
from services.notifier.domain.retry import RetryPolicy
from services.notifier.kafka_edge import KafkaEdge
from services.notifier.metrics import NotifierMetrics
from services.notifier.options import NotifierOptions
from services.notifier.ratelimit import TokenBucket
from services.notifier.relay import StatusRelay
from services.notifier.rendering import Renderer
from services.notifier.service import Intake
from services.notifier.store import DeliveryStore
from services.notifier.traces import Traces

log = structlog.get_logger("reslot.notifier")

NOTIFIER_TOPICS = (Topic.NOTIFICATIONS, Topic.NOTIFICATION_STATUS, Topic.DEADLETTER)


def dispatch_config(settings: Settings, options: NotifierOptions) -> DispatchConfig:
    return DispatchConfig(
        owner=options.instance_id,
        retry=RetryPolicy(
            max_attempts=settings.send_max_attempts,
            base_s=settings.send_backoff_base_s,
            cap_s=settings.send_backoff_max_s,
        ),
        quiet_start=settings.quiet_hours_start,
        quiet_end=settings.quiet_hours_end,
        lease_s=options.lease_s,
        sweep_interval_s=options.sweep_interval_s,
        max_in_flight=options.max_in_flight,
    )


def default_senders(settings: Settings, options: NotifierOptions) -> dict[Channel, Sender]:
    """SMTP for e-mail and the HTTP gateway for SMS, as the settings name them."""
    return {
        "email": SmtpSender.from_settings(settings, options.smtp_timeout_s,
                                          options.smtp_connections),
        "sms": SmsSender.from_settings(settings, options.sms_timeout_s, options.sms_connections),
    }


@dataclass
class NotifierApp:
    """Every part of a notifier, built by `create_app`."""

    settings: Settings
    options: NotifierOptions
    store: DeliveryStore
    producer: AIOKafkaProducer
    senders: Mapping[Channel, Sender]
    dispatcher: Dispatcher
    relay: StatusRelay
    broker: KafkaBroker
    _relaying: "asyncio.Task[None] | None" = field(default=None, init=False)
    _opened: list[str] = field(default_factory=list, init=False)

    async def start(self) -> None:
        """Open the parts in dependency order; on a failure, close what was opened."""
        tune_gc()
        try:
            await ensure_topics(self.settings, NOTIFIER_TOPICS)
            await self.store.open()
            self._opened.append("store")
            await self.producer.start()
            self._opened.append("producer")
            self._opened.append("senders")
            await self.dispatcher.start()
            self._opened.append("dispatcher")
            self._relaying = asyncio.create_task(self.relay.run(), name="notifier-relay")
            await self.broker.start()
            self._opened.append("broker")
        except BaseException:
            await self.stop()
            raise
        log.info("notifier started", instance_id=self.options.instance_id,
                 group_id=self.options.group_id)

    async def stop(self) -> None:
        """Stop consuming; let sends in flight finish (settings.graceful_timeout_s); publish
        what the outbox holds; close the rest. What is unfinished resumes at the next start."""
        opened, self._opened = self._opened, []
        if "broker" in opened:
            await self.broker.stop()  # waits for the batch in hand
        if "dispatcher" in opened:
            await self.dispatcher.stop(self.settings.graceful_timeout_s)
        if self._relaying is not None:
            self._relaying.cancel()
            await asyncio.gather(self._relaying, return_exceptions=True)
            self._relaying = None
            await self.relay.drain(timeout_s=5.0)
        if "senders" in opened:
            for sender in self.senders.values():
                await sender.close()
        if "producer" in opened:
            await self.producer.stop()
        if "store" in opened:
            await self.store.close()
        log.info("notifier stopped", instance_id=self.options.instance_id)

    async def run(self, stop_event: asyncio.Event) -> None:
        """Start; run until `stop_event` is set, then stop gracefully. A loop of the notifier
        that dies (a bug) stops it too, and is raised."""
        await self.start()
        loops = [self.dispatcher.sweeping]
        if self._relaying is not None:
            loops.append(self._relaying)
        stopping = asyncio.create_task(stop_event.wait())
        try:
            done, _ = await asyncio.wait({stopping, *loops}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await self.stop()
        for task in done - {stopping}:
            if not task.cancelled() and task.exception() is not None:
                raise RuntimeError("a loop of the notifier died") from task.exception()


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[Channel, Sender] | None = None,
    metrics: NotifierMetrics | None = None,
    options: NotifierOptions | None = None,
) -> NotifierApp:
    """The notifier, built from settings; nothing connects before `start()`."""
    options = options or NotifierOptions()
    clock = clock or SystemClock()
    metrics = metrics or NotifierMetrics()
    config = dispatch_config(settings, options)
    store = DeliveryStore(settings.notifier_db())
    producer = make_producer(settings, client_id=f"reslot-notifier-{options.instance_id}")
    senders = senders or default_senders(settings, options)
    renderer = Renderer()
    traces = Traces()
    relay = StatusRelay(store=store, publish=partial(publish_all, producer), clock=clock,
                        traces=traces, owner=options.instance_id,
                        orphan_after_s=options.lease_s)
    limits: dict[Channel, TokenBucket] = {
        "email": TokenBucket(settings.email_rate_per_s, clock),
        "sms": TokenBucket(settings.sms_rate_per_s, clock),
    }
    dispatcher = Dispatcher(store=store, renderer=renderer, senders=senders, limits=limits,
                            clock=clock, config=config, metrics=metrics, reported=relay.wake)
    intake = Intake(store=store, render=renderer.render, dispatcher=dispatcher, clock=clock,
                    config=config, metrics=metrics, reported=relay.wake)
    edge = KafkaEdge(intake=intake, producer=producer, clock=clock, metrics=metrics,
                     traces=traces)
    broker = notifier_broker(settings, options, edge.handle)
    return NotifierApp(settings, options, store, producer, senders, dispatcher, relay, broker)


async def start_notifier(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[Channel, Sender] | None = None,
    metrics: NotifierMetrics | None = None,
    options: NotifierOptions | None = None,
) -> NotifierApp:
    """`create_app(...)`, started (for tests): `.stop()` it."""
    app = create_app(settings, clock=clock, senders=senders, metrics=metrics, options=options)
    await app.start()
    return app
