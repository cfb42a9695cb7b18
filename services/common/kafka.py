"""Kafka at the edge: client options from settings, explicit topic creation, batch publishing."""

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import MessageSizeTooLargeError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from schemas.topics import Topic
from services.common.settings import KafkaSettings, Settings


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for the broker and its security settings."""
    if not kafka.bootstrap_servers:
        raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set and no local broker was started")
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=kafka.ssl_cafile)
        if kafka.ssl_certfile:
            context.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile)
        options["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return options


async def ensure_topics(settings: Settings, topics: Iterable[str] = tuple(Topic)) -> None:
    """Create every topic with the configured partition count; never rely on auto-creation."""
    admin = AIOKafkaAdminClient(**client_options(settings.kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(t, settings.partitions, settings.replication_factor)
            for t in topics
            if t not in existing
        ]
        if wanted:
            # another instance may create them between our list and our create
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        described = await admin.describe_topics(list(topics))
        wrong = {
            d["topic"]: len(d["partitions"])
            for d in described
            if len(d["partitions"]) != settings.partitions
        }
        if wrong:
            raise RuntimeError(
                f"topics have a partition count other than RESLOT_PARTITIONS="
                f"{settings.partitions}: {wrong}; centre-keyed topics must be co-partitioned"
            )
    finally:
        await admin.close()


@dataclass(frozen=True)
class Outgoing:
    """One message to publish: topic, key (the centre id) and CloudEvent JSON bytes;
    `partition`: where, when not by the key's hash (the scheduler's internal topics)."""

    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int | None = None


HEADERS = (("content-type", b"application/cloudevents+json"),)

# Where a keyed message goes: murmur2 of the key, as the Java clients place it. Producers
# are made with it (make_producer), and publish_all places messages with it before batching.
PARTITIONER = DefaultPartitioner()
MAX_REQUEST = 4 * 1024 * 1024  # bytes: the largest request, so the largest record, sent

# Consumer group session: a killed member is replaced in about 10 s (DESIGN.md).
SESSION = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


def make_producer(settings: Settings, **extra: Any) -> AIOKafkaProducer:
    """A producer for batches: acks=all, no idempotence (the local broker lacks it)."""
    return AIOKafkaProducer(
        **client_options(settings.kafka),
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        max_request_size=MAX_REQUEST,
        partitioner=PARTITIONER,
        **extra,
    )


async def publish_all(producer: AIOKafkaProducer, messages: Sequence[Outgoing],
                      yield_every: int | None = None) -> None:
    """Send all messages, in order per key, and wait until the broker has acknowledged each.

    Messages are placed on partitions first (`_by_partition`: where send() would place them),
    then appended to record batches, one partition's after the other (`_send_in_batches`):
    one future per batch instead of one per message. Publishing a portal-wide outage's
    200,000 events took 0.9 s of CPU so, against 2.2 s with a send() per message. Placing
    does not give the event loop up: with `yield_every`, it is given up after every that
    many, so a long batch does not hold up the loop's other work."""
    placed = await _by_partition(producer, messages, yield_every)
    await asyncio.gather(*(_send_in_batches(producer, topic, partition, records)
                           for (topic, partition), records in placed.items()))


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


async def _by_partition(producer: AIOKafkaProducer, messages: Sequence[Outgoing],
                       yield_every: int | None = None) -> dict[tuple[str, int], list[Record]]:
    """Each message's topic partition, order kept within each: its own `partition`, else its
    key's under PARTITIONER (the producer's, make_producer)."""
    placed: dict[tuple[str, int], list[Record]] = {}
    partitions: dict[str, list[int]] = {}
    keyed: dict[tuple[str, str], int] = {}  # murmur2 costs 2 us; a batch has few keys
    for n, m in enumerate(messages, start=1):
        key = m.key.encode()
        partition = m.partition
        if partition is None:
            partition = keyed.get((m.topic, m.key))
        if partition is None:
            if m.topic not in partitions:
                partitions[m.topic] = sorted(await producer.partitions_for(m.topic))
            every = partitions[m.topic]
            partition = keyed[m.topic, m.key] = PARTITIONER(key, every, every)
        headers = list(HEADERS + m.headers)
        if DefaultRecordBatchBuilder.estimate_size_in_bytes(key, m.value, headers) > MAX_REQUEST:
            raise MessageSizeTooLargeError(
                f"a record of {len(m.value)} bytes for {m.topic} is over {MAX_REQUEST} bytes")
        placed.setdefault((m.topic, partition), []).append((key, m.value, headers))
        if yield_every and n % yield_every == 0:
            await asyncio.sleep(0)
    return placed


async def _send_in_batches(producer: AIOKafkaProducer, topic: str, partition: int,
                           records: Sequence[Record]) -> None:
    """Append records in order to as few batches as they fit in, and wait until the broker
    acknowledged them all. The producer sends a partition's batches one after the other,
    so order holds."""
    futures = []
    batch: BatchBuilder | None = None
    for key, value, headers in records:
        if batch is not None and batch.append(timestamp=None, key=key, value=value,
                                              headers=headers) is not None:
            continue
        if batch is not None:
            futures.append(await _hand_over(producer, batch, topic, partition))
        batch = producer.create_batch()
        if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
            raise MessageSizeTooLargeError(f"a batch of {topic} refused a first record")
    if batch is not None:
        futures.append(await _hand_over(producer, batch, topic, partition))
    await asyncio.gather(*futures)


async def _hand_over(producer: AIOKafkaProducer, batch: BatchBuilder, topic: str,
                     partition: int) -> asyncio.Future[Any]:
    batch.close()  # so that no send() elsewhere on this producer adds to it
    future: asyncio.Future[Any] = await producer.send_batch(batch, topic, partition=partition)
    return future
