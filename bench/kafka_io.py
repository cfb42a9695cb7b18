"""Kafka at the bench's edge: fast batched publishing, end offsets, raw consumption, watching."""

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.common.kafka import HEADERS, Outgoing, make_producer
from services.common.settings import Settings

TP = tuple[str, int]


@contextlib.asynccontextmanager
async def producer_of(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """The services' batch producer (make_producer), started, and stopped afterwards."""
    producer = make_producer(settings)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def send_all(producer: AIOKafkaProducer, messages: Iterable[Outgoing],
                   chunk: int = 10_000) -> dict[TP, int]:
    """Publish in acknowledged chunks (as publish_all does); the end offset of each partition
    written, from the broker's answers (its ListOffsets can lag: see `end_offsets`)."""
    ends: dict[TP, int] = {}
    batch: list[Outgoing] = []
    for m in itertools.chain(messages, [None]):
        if m is not None:
            batch.append(m)
        if batch and (m is None or len(batch) >= chunk):
            futures = [await producer.send(o.topic, o.value, key=o.key.encode(),
                                           headers=list(HEADERS + o.headers)) for o in batch]
            for meta in await asyncio.gather(*futures):
                tp = (meta.topic, meta.partition)
                ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
            batch = []
    return ends


async def publish(settings: Settings, messages: Iterable[Outgoing]) -> dict[TP, int]:
    async with producer_of(settings) as producer:
        return await send_all(producer, messages)


async def group_stable(bootstrap: str, group: str, timeout_s: float = 60.0) -> None:
    """Until the consumer group has members and is Stable (its partitions assigned)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                (answer,) = await admin.describe_consumer_groups([group])
                (_, _, state, _, _, members) = answer.groups[0]
                if state == "Stable" and members:
                    return
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()
    return [TopicPartition(t, p) for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())]


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[TP, int]:
    """ListOffsets(latest); on Tansu 0.6 it can lag the records actually readable."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await _partitions(consumer, topics)
        ends = await consumer.end_offsets(tps)
        return {(tp.topic, tp.partition): off for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def raw_consume(bootstrap: str, topic: str, expected: int,
                      timeout_s: float = 120.0) -> tuple[dict[str, float], dict[TP, int]]:
    """Plain aiokafka: assign every partition, getmany until `expected` records are counted.

    Also returns the true end offsets (last offset read + 1): Tansu's ListOffsets(latest)
    under-reports after batched produce, so `end_offsets` cannot be trusted there.
    """
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = await _partitions(consumer, [topic])
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ready = time.perf_counter()
        count = 0
        ends: dict[TP, int] = {}
        async with asyncio.timeout(timeout_s):
            while count < expected:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    count += len(records)
                    ends[(tp.topic, tp.partition)] = records[-1].offset + 1
        done = time.perf_counter()
    finally:
        await consumer.stop()
    rates = {"records": count, "seconds": done - started, "per_s": count / (done - started),
             "consume_seconds": done - ready, "consume_per_s": count / (done - ready)}
    return rates, ends


class TopicWatch:
    """Counts distinct events per type on some topics, with the time the last one arrived."""

    def __init__(self, bootstrap: str, topics: Sequence[str], keep: Sequence[str] = ()) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.keep = set(keep)  # event types whose bodies are kept
        self.bodies: dict[str, list[dict[str, Any]]] = {}
        self.ids: dict[str, set[str]] = {}
        self.last_at: dict[str, float] = {}
        self.channel_at: dict[str, list[float]] = {}  # when each report of a channel arrived
        self.changed = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                                     enable_auto_commit=False)
        await consumer.start()
        tps = await _partitions(consumer, self.topics)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        self._task = asyncio.create_task(self._run(consumer))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                for r in records:
                    body = json.loads(r.value)
                    seen = self.ids.setdefault(body["type"], set())
                    if body["id"] not in seen:
                        seen.add(body["id"])
                        self.last_at[body["type"]] = now
                        if body["type"] in self.keep:
                            self.bodies.setdefault(body["type"], []).append(body)
                        channel = body["data"].get("channel")
                        if isinstance(channel, str):
                            self.channel_at.setdefault(channel, []).append(now)
            if batches:
                self.changed.set()

    def channel_rates(self) -> dict[str, dict[str, float]]:
        """Per channel: its reports, and how many per second from its first to its last."""
        out = {}
        for channel, times in self.channel_at.items():
            span = max(times) - min(times)
            out[channel] = {"reports": len(times),
                            "per_s": round((len(times) - 1) / span, 1) if span > 0 else 0.0}
        return out

    def count(self, *types: str) -> int:
        return sum(len(self.ids.get(t, ())) for t in types)

    def counts(self) -> Counter[str]:
        return Counter({t: len(ids) for t, ids in self.ids.items()})

    async def wait_for(self, expected: int, *types: str) -> float:
        """Until `expected` distinct events of `types` arrived; when the last one did."""
        while self.count(*types) < expected:
            if self._task is not None and self._task.done():
                self._task.result()  # raises what stopped the watch
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=1.0)
        return max(self.last_at[t] for t in types if t in self.last_at)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
