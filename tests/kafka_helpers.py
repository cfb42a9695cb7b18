"""Reading topics back in tests, with plain aiokafka (no consumer group)."""

import json
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def read_records(bootstrap: str, topic: str,
                       timeout_s: float = 10.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on `topic` now, in partition then offset order (partition, key, headers
    and value as the broker holds them)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []  # the topic does not exist: nothing was ever published to it
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[ConsumerRecord[bytes, bytes]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=int(timeout_s * 1000))
                out.extend(batch.get(tp, []))
        return out
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Every message on `topic` now, decoded as JSON, in partition then offset order."""
    return [json.loads(r.value) for r in await read_records(bootstrap, topic, timeout_s)
            if r.value is not None]


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = []
        for topic in topics:
            for p in consumer.partitions_for_topic(topic) or set():
                tps.append(TopicPartition(topic, p))
        ends = await consumer.end_offsets(tps)
        return {(tp.topic, tp.partition): off for tp, off in ends.items()}
    finally:
        await consumer.stop()
