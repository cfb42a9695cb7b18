"""Which partition applies an input: its centre's by our own hash, whatever partitioner the
upstream producer used.

Kafka gives each partition to one instance of the group, and the range assignor gives
partition p of every scheduler topic to the same one. A centre's state is changed only from
partition murmur2(centre id) mod N (the hash of aiokafka's and Java's default partitioner),
so only by that partition's owner. A record read on another partition (librdkafka clients
hash keys with CRC32 by default) is not applied where it was read: it is forwarded, the way
Kafka Streams repartitions, as an outbox row to `reslot.inputs-by-centre.v1` on the owner's
partition, written in the same transaction as the offset that read it. The owner consumes
it like any input and applies it once (the origin it carries; see parsing.Origin).
An outage event not yet routed to its centres is owned by its outage id's partition: one
instance routes every event of one outage.
"""

from collections.abc import Sequence

from aiokafka.partitioner import murmur2

from schemas.topics import Topic
from services.scheduler.parsing import Origin, Parsed
from services.scheduler.store.rows import Headers, OutboxRow

TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_CACHED_KEYS = 100_000


class Ownership:
    """The owner partition of a key among `partitions` (the co-partitioned topics' count)."""

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError("at least one partition")
        self.partitions = partitions
        self._cache: dict[str, int] = {}  # centres and outages are few; hashing is not free

    def partition_of(self, key: str) -> int:
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHED_KEYS:
                self._cache.clear()
            found = self._cache[key] = (murmur2(key.encode()) & 0x7FFFFFFF) % self.partitions
        return found

    def owns(self, parsed: Parsed) -> bool:
        """Whether the partition `parsed` was read on is the one that applies it."""
        return self.partition_of(parsed.owner_key) == parsed.record.partition

    def forward(self, parsed: Parsed) -> OutboxRow:
        """The row that hands `parsed` to its owner's partition, as it was read."""
        record = parsed.record
        origin = Origin(parsed.input_topic, record.topic, record.partition, record.offset)
        key = parsed.owner_key
        return OutboxRow(record.partition, Topic.INPUTS_BY_CENTRE, key, record.value or b"",
                         (*trace_headers(record.headers), origin.header()),
                         self.partition_of(key))


def trace_headers(headers: Sequence[tuple[str, bytes | None]]) -> Headers:
    """The W3C trace context among a record's headers (whatever else they hold is dropped)."""
    return tuple((name, value) for name, value in headers
                 if name in TRACE_HEADERS and value is not None and value.isascii())
