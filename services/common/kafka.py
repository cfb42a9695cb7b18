"""Kafka at the edge: client options from settings, explicit topic creation, batch publishing."""

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

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
        max_request_size=4 * 1024 * 1024,
        **extra,
    )


async def publish_all(producer: AIOKafkaProducer, messages: Sequence[Outgoing],
                      yield_every: int | None = None) -> None:
    """Send all messages, in order per key, and wait until the broker has acknowledged each.

    Enqueueing a message does not give the event loop up: with `yield_every`, it is given up
    after every that many, so a long batch does not hold up the loop's other work."""
    futures = []
    for n, m in enumerate(messages, start=1):
        futures.append(await producer.send(
            m.topic, m.value, key=m.key.encode(), partition=m.partition,
            headers=list(HEADERS + m.headers),
        ))
        if yield_every and n % yield_every == 0:
            await asyncio.sleep(0)
    if futures:
        await asyncio.gather(*futures)
