"""The notifier's FastStream broker (services.common.faststream_kafka.make_broker) and its one
subscriber: batches of visa.notifications.v1, committed only once handled.

The consumer commits an offset only after the request is durably claimed in the store (or
dead-lettered): AckPolicy.MANUAL, never ACK_FIRST. Sending happens afterwards, driven by the
store, so a crash loses nothing and a redelivered request is recognised by its claim.
(No `from __future__ import annotations` here: FastStream reads the handler's annotations.)
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas.topics import Topic
from services.common.faststream_kafka import make_broker, raw_body, tolerant_parser
from services.common.settings import Settings
from services.notifier.kafka_edge import Incoming, incoming_of
from services.notifier.options import NotifierOptions

Handle = Callable[[Sequence[Incoming]], Awaitable[None]]


def notifier_broker(settings: Settings, options: NotifierOptions, handle: Handle) -> KafkaBroker:
    """The broker, its subscriber handing each batch to `handle`; nothing connects yet."""
    broker = make_broker(settings.kafka, f"reslot-notifier-{options.instance_id}",
                         settings.graceful_timeout_s)

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
        try:
            await handle([incoming_of(r) for r in records])
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
