"""The notifier process: composition root, FastStream app, and start/stop entry points.

    build_app(settings)                   -> FastStream app (for `faststream run`-style hosts)
    await run_notifier(settings, stop)    -> runs until `stop` is set (the `reslot notifier` CLI)
    await start_notifier(settings, ...)   -> RunningNotifier with .stop() (test harness)

The consumer commits an offset only after the request is durably claimed in the store (or
dead-lettered): AckPolicy.MANUAL, never ACK_FIRST. Sending happens afterwards, driven by the
store, so a crash loses nothing and a redelivered request is recognised by its claim.
"""

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaProducer
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas.topics import Topic
from services.common.faststream_kafka import (
    FASTSTREAM_LOG,
    raw_body,
    security_of,
    tolerant_parser,
)
from services.common.kafka import client_options, ensure_topics, make_producer
from services.common.runtime import tune_gc
from services.common.settings import Settings
from services.notifier.channels import Sender
from services.notifier.channels.sms import SmsSender
from services.notifier.channels.smtp import SmtpSender
from services.notifier.clock import Clock, SystemClock
from services.notifier.dispatcher import DispatchConfig, Dispatcher
from services.notifier.domain.model import Channel
from services.notifier.domain.retry import RetryPolicy
from services.notifier.domain.status import StatusEvent
from services.notifier.kafka_edge import KafkaEdge, incoming_of
from services.notifier.metrics import NotifierMetrics
from services.notifier.options import NotifierOptions
from services.notifier.ratelimit import TokenBucket
from services.notifier.rendering import Renderer
from services.notifier.service import Intake
from services.notifier.store import DeliveryStore

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


@dataclass
class Notifier:
    """Every part of a running notifier, built by `open` and torn down by `close`."""

    settings: Settings
    options: NotifierOptions
    clock: Clock
    metrics: NotifierMetrics
    senders: Mapping[Channel, Sender] | None = None  # default: SMTP and the HTTP gateway
    store: DeliveryStore | None = None
    producer: AIOKafkaProducer | None = None
    dispatcher: Dispatcher | None = None
    edge: KafkaEdge | None = None

    async def open(self) -> None:
        try:
            await self._open()
        except BaseException:
            await self.close()  # whatever was opened before the failure
            raise

    async def _open(self) -> None:
        settings, options = self.settings, self.options
        await ensure_topics(settings, NOTIFIER_TOPICS)
        self.store = store = await DeliveryStore.open(settings.notifier_db())
        self.producer = producer = make_producer(
            settings, client_id=f"reslot-notifier-{options.instance_id}"
        )
        await producer.start()
        self.senders = senders = self.senders or {
            "email": SmtpSender.from_settings(
                settings, options.smtp_timeout_s, options.smtp_connections
            ),
            "sms": SmsSender.from_settings(
                settings, options.sms_timeout_s, options.sms_connections
            ),
        }
        renderer = Renderer()
        config = dispatch_config(settings, options)
        limits: dict[Channel, TokenBucket] = {
            "email": TokenBucket(settings.email_rate_per_s, self.clock),
            "sms": TokenBucket(settings.sms_rate_per_s, self.clock),
        }
        self.dispatcher = dispatcher = Dispatcher(
            store=store,
            renderer=renderer,
            senders=senders,
            limits=limits,
            publish_status=self._publish_status,
            clock=self.clock,
            config=config,
            metrics=self.metrics,
        )
        intake = Intake(
            store=store,
            render=renderer.render,
            dispatcher=dispatcher,
            clock=self.clock,
            config=config,
            metrics=self.metrics,
        )
        self.edge = KafkaEdge(
            intake=intake, producer=producer, clock=self.clock, metrics=self.metrics
        )
        await dispatcher.start()
        log.info("notifier started", instance_id=options.instance_id, group_id=options.group_id)

    async def _publish_status(self, events: Sequence[StatusEvent]) -> None:
        assert self.edge is not None
        await self.edge.publish_status(events)

    async def close(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop(self.settings.graceful_timeout_s)
        for sender in (self.senders or {}).values():
            await sender.close()
        if self.producer is not None:
            await self.producer.stop()
        if self.store is not None:
            await self.store.close()
        log.info("notifier stopped", instance_id=self.options.instance_id)


def _broker(notifier: Notifier) -> KafkaBroker:
    settings, options = notifier.settings, notifier.options
    broker = KafkaBroker(
        client_options(settings.kafka)["bootstrap_servers"],
        security=security_of(settings.kafka),
        client_id=f"reslot-notifier-{options.instance_id}",
        graceful_timeout=settings.graceful_timeout_s,
        logger=FASTSTREAM_LOG,  # JSON lines through our handler, not FastStream's own
        log_level=logging.DEBUG,  # per-batch "Received/Processed": our own logs say more
    )

    @broker.subscriber(
        Topic.NOTIFICATIONS,
        group_id=options.group_id,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.batch_max_records,
        session_timeout_ms=options.session_timeout_ms,
        heartbeat_interval_ms=options.heartbeat_interval_ms,
        parser=tolerant_parser,
        decoder=raw_body,
    )
    async def on_notification_requests(msg: KafkaMessage) -> None:
        records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        assert notifier.edge is not None, "the notifier opens before the broker starts"
        try:
            await notifier.edge.handle([incoming_of(r) for r in records])
        except asyncio.CancelledError:
            await msg.nack()  # shutting down mid-batch: read it again next time
            raise
        except Exception:
            # A bug, not bad input: never commit past this batch; read it again shortly.
            await asyncio.sleep(1.0)
            await msg.nack()
            raise
        await msg.ack()  # commits the positions after this batch: every request is claimed

    return broker


def _build(
    settings: Settings,
    options: NotifierOptions | None,
    clock: Clock | None,
    metrics: NotifierMetrics | None,
    senders: Mapping[Channel, Sender] | None,
) -> tuple[FastStream, Notifier]:
    notifier = Notifier(
        settings=settings,
        options=options or NotifierOptions(),
        clock=clock or SystemClock(),
        metrics=metrics or NotifierMetrics(),
        senders=senders,
    )
    app = FastStream(_broker(notifier), on_startup=[notifier.open], after_shutdown=[notifier.close])
    return app, notifier


def build_app(
    settings: Settings,
    *,
    options: NotifierOptions | None = None,
    clock: Clock | None = None,
    metrics: NotifierMetrics | None = None,
    senders: Mapping[Channel, Sender] | None = None,
) -> FastStream:
    """The FastStream app of the notifier; nothing connects until it starts."""
    return _build(settings, options, clock, metrics, senders)[0]


@dataclass
class RunningNotifier:
    app: FastStream
    notifier: Notifier

    @property
    def store(self) -> DeliveryStore:
        assert self.notifier.store is not None
        return self.notifier.store

    async def stop(self) -> None:
        await self.app.stop()


async def start_notifier(
    settings: Settings,
    *,
    options: NotifierOptions | None = None,
    clock: Clock | None = None,
    metrics: NotifierMetrics | None = None,
    senders: Mapping[Channel, Sender] | None = None,
) -> RunningNotifier:
    """Start a notifier against settings' broker, store, SMTP and SMS gateway; `.stop()` it."""
    tune_gc()
    app, notifier = _build(settings, options, clock, metrics, senders)
    await app.start()
    return RunningNotifier(app, notifier)


async def run_notifier(
    settings: Settings,
    stop_event: asyncio.Event,
    *,
    options: NotifierOptions | None = None,
    clock: Clock | None = None,
    metrics: NotifierMetrics | None = None,
) -> None:
    """Run until `stop_event` is set, then stop gracefully (in-flight sends get
    settings.graceful_timeout_s to finish; the rest resume at the next start)."""
    running = await start_notifier(settings, options=options, clock=clock, metrics=metrics)
    assert running.notifier.dispatcher is not None
    sweeping = running.notifier.dispatcher.sweeping
    stopping = asyncio.create_task(stop_event.wait())
    try:
        await asyncio.wait({stopping, sweeping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        await running.stop()
    if sweeping.done() and not sweeping.cancelled() and sweeping.exception() is not None:
        raise RuntimeError("a loop of the notifier died") from sweeping.exception()
