"""Positions.admit: which fetched records a batch applies, whatever Kafka redelivers."""

from typing import Any

from aiokafka import TopicPartition

from services.scheduler.parsing import InputRecord
from services.scheduler.positions import Positions

T = "visa.bookings.v1"


class Seeks:
    """Stands in for the consumer: only seek is called by admit."""

    def __init__(self) -> None:
        self.sought: list[tuple[str, int, int]] = []

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought.append((tp.topic, tp.partition, offset))


async def _nothing() -> None:
    return None


def positions(applied: dict[tuple[str, int], int]) -> tuple[Positions, Seeks]:
    seeks = Seeks()
    consumer: Any = seeks
    p = Positions(store=None, consumer=consumer,  # type: ignore[arg-type]
                  settle=_nothing, forget=lambda: None)  # admit uses neither
    p.applied = dict(applied)
    return p, seeks


def recs(partition: int, *offsets: int, topic: str = T) -> list[InputRecord]:
    return [InputRecord(topic, partition, o, None, b"{}", 0) for o in offsets]


def offsets(records: list[Any]) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for r in records]


def test_runs_are_admitted_without_what_was_already_applied() -> None:
    p, seeks = positions({(T, 0): 4, (T, 1): -1, (T, 2): 9})
    admitted, last = p.admit(recs(0, 3, 4, 5, 6) + recs(1, 0, 1) + recs(2, 8, 9))
    assert offsets(admitted) == [(0, 5), (0, 6), (1, 0), (1, 1)]
    assert last == {(T, 0): 6, (T, 1): 1}  # partition 2 had nothing new
    assert seeks.sought == []


def test_a_gap_refuses_the_whole_partition_and_seeks_it_back() -> None:
    p, seeks = positions({(T, 0): 4, (T, 1): 0})
    admitted, last = p.admit(recs(0, 7, 8) + recs(1, 1, 2))
    assert offsets(admitted) == [(1, 1), (1, 2)]
    assert last == {(T, 1): 2}
    assert seeks.sought == [(T, 0, 5)]


def test_holes_inside_a_run_are_checked_one_by_one() -> None:
    p, seeks = positions({(T, 0): 1})
    admitted, last = p.admit(recs(0, 1, 2, 3, 5, 6))
    assert admitted == []  # 2, 3 came before the hole, but the partition is read again
    assert last == {}
    assert seeks.sought == [(T, 0, 2)]


def test_a_partition_seen_twice_in_a_batch_continues_where_it_stopped() -> None:
    p, _ = positions({(T, 0): -1, (T, 1): -1})
    admitted, last = p.admit(recs(0, 0, 1) + recs(1, 0) + recs(0, 1, 2, 3))
    assert offsets(admitted) == [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3)]
    assert last == {(T, 0): 3, (T, 1): 0}


def test_partitions_not_owned_are_ignored() -> None:
    p, seeks = positions({(T, 0): -1})
    admitted, last = p.admit(recs(5, 0, 1) + recs(0, 0, topic="visa.capacity.v1") + recs(0, 0))
    assert offsets(admitted) == [(0, 0)]
    assert last == {(T, 0): 0}
    assert seeks.sought == []
    p.mark(last)
    assert p.applied == {(T, 0): 0}
