"""publish_all on the real local broker: messages go in record batches, one partition's
after the other, to the partition send() would give them; each once, in order per key,
with its headers; a record larger than a request is refused before anything is sent."""

import json
from collections import defaultdict

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from tests.kafka_helpers import read_records

pytestmark = pytest.mark.integration

BATCHED, BY_SEND = Topic.NOTIFICATIONS, Topic.NOTIFICATION_STATUS
KEYS = [f"centre-{k:02d}" for k in range(30)]
VALUE_BYTES = 3000  # 3,600 of them: several 1 MiB batches on most partitions


def _value(n: int, key: str) -> bytes:
    return json.dumps({"n": n, "key": key, "pad": "x" * VALUE_BYTES}).encode()


async def _read(bootstrap: str, topic: str) -> list[tuple[int, str, int, dict[str, bytes]]]:
    """(partition, key, n, headers) of every record, in offset order per partition."""
    return [(r.partition, (r.key or b"").decode(), json.loads(r.value or b"{}").get("n", -1),
             dict(r.headers)) for r in await read_records(bootstrap, topic)]


async def test_batches_land_where_send_puts_them_once_in_order(kafka: str) -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka), partitions=6)
    await ensure_topics(settings, [BATCHED, BY_SEND])
    messages = [Outgoing(BATCHED, key, _value(n, key), (("traceparent", f"t-{n}".encode()),))
                for n, key in ((n, KEYS[n % len(KEYS)]) for n in range(3600))]
    pinned = Outgoing(BATCHED, KEYS[0], _value(3600, KEYS[0]), (), partition=5)
    producer = make_producer(settings)
    await producer.start()
    try:
        await publish_all(producer, [*messages, pinned], yield_every=100)
        for key in KEYS:  # the reference: aiokafka's own send()
            await (await producer.send(BY_SEND, b"{}", key=key.encode()))
    finally:
        await producer.stop()

    batched, by_send = await _read(kafka, BATCHED), await _read(kafka, BY_SEND)
    where = {key: partition for partition, key, _, _ in by_send}
    assert len(set(where.values())) > 1
    assert sorted(n for _, _, n, _ in batched) == list(range(3601))
    seen: dict[str, list[int]] = defaultdict(list)
    for partition, key, n, headers in batched:
        assert partition == (5 if n == 3600 else where[key])
        assert headers["content-type"] == b"application/cloudevents+json"
        if n < 3600:
            assert headers["traceparent"] == f"t-{n}".encode()
            seen[key].append(n)
    assert all(ns == sorted(ns) for ns in seen.values())


async def test_a_record_over_a_request_is_refused_before_any_is_sent(kafka: str) -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka), partitions=2)
    await ensure_topics(settings, [BATCHED])
    producer = make_producer(settings)
    await producer.start()
    try:
        with pytest.raises(MessageSizeTooLargeError, match="over 4194304 bytes"):
            await publish_all(producer, [Outgoing(BATCHED, "a", _value(1, "a")),
                                         Outgoing(BATCHED, "b", b"x" * 5_000_000)])
    finally:
        await producer.stop()
    assert await _read(kafka, BATCHED) == []
