"""`reslot deadletters list|replay`: let an operator look at dead letters and re-inject them."""

import base64
import json
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import Topic
from services.common.kafka import Outgoing, client_options, make_producer, publish_all
from services.common.settings import Settings


@dataclass(frozen=True)
class DeadLetterView:
    id: str
    service: str
    topic: str
    partition: int
    offset: int
    error_class: str
    error: str
    key: bytes | None
    value: bytes


async def read_deadletters(settings: Settings) -> list[DeadLetterView]:
    """Every dead letter on the topic, oldest first per partition (no consumer group)."""
    consumer = AIOKafkaConsumer(**client_options(settings.kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(Topic.DEADLETTER, p)
               for p in sorted(consumer.partitions_for_topic(Topic.DEADLETTER) or ())]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[DeadLetterView] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=5000)).get(tp, []):
                    found.append(_view(json.loads(record.value)))
        return found
    finally:
        await consumer.stop()


def _view(event: dict[str, Any]) -> DeadLetterView:
    d = event["data"]
    return DeadLetterView(
        id=event["id"], service=d["service"], topic=d["topic"], partition=d["partition"],
        offset=d["offset"], error_class=d["error_class"], error=d["error"],
        key=base64.b64decode(d["key"]) if d.get("key") else None,
        value=base64.b64decode(d["value"]),
    )


async def replay(settings: Settings, letters: list[DeadLetterView]) -> int:
    """Publish the original bytes again to their original topic, with their original key."""
    producer = make_producer(settings)
    await producer.start()
    try:
        await publish_all(producer, [
            Outgoing(dl.topic, (dl.key or b"").decode(errors="replace"), dl.value)
            for dl in letters
        ])
    finally:
        await producer.stop()
    return len(letters)
