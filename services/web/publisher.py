"""What the front publishes, and the Kafka producer that does it.

The front's events are few and each answers a person waiting on a page, so each publish
waits for the broker's acknowledgement: a reply is shown as received only once it is on
the topic. The producer is started and stopped with the app (its lifespan).
"""

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from schemas.envelope import CloudEvent
from schemas.topics import TOPIC_OF_TYPE
from services.common.kafka import Outgoing, make_producer, publish_all
from services.common.settings import Settings

log = logging.getLogger("reslot.web")
SOURCE = "reslot/web"
PUBLISH_TIMEOUT_MS = 10_000  # a person is waiting: fail clearly rather than hang


class Publisher(Protocol):
    async def publish(self, events: Sequence[CloudEvent[Any]]) -> None:
        """Every event on its topic, keyed by its centre, acknowledged by the broker."""


def outgoing(event: CloudEvent[Any]) -> Outgoing:
    return Outgoing(TOPIC_OF_TYPE[event.type], event.centre_key, event.to_json())


class KafkaPublisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = make_producer(self._settings, request_timeout_ms=PUBLISH_TIMEOUT_MS)
        await producer.start()
        self._producer = producer
        log.info("web front: publishing to %s", self._settings.kafka.bootstrap_servers)

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def publish(self, events: Sequence[CloudEvent[Any]]) -> None:
        if self._producer is None:
            raise RuntimeError("the web front's producer is not started")
        await publish_all(self._producer, [outgoing(e) for e in events])
