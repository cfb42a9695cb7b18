"""Positions.stamp and a lane's resume: a lane's failed write sends only its partitions back,
and only batches prepared on partitions that moved are dropped."""

from typing import Any

from services.scheduler.positions import Positions
from tests.unit.test_positions_admit import Seeks

T = "visa.replies.v1"


class StoredOffsets:
    """Stands in for the store: only stored_offsets is called by resume."""

    def __init__(self, stored: dict[tuple[str, int], int]) -> None:
        self.stored = stored
        self.asked: list[list[tuple[str, int]]] = []

    async def stored_offsets(self, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        self.asked.append(sorted(tps))
        return {tp: o for tp, o in self.stored.items() if tp in tps}


async def _nothing() -> None:
    return None


def positions(store: StoredOffsets) -> tuple[Positions, Seeks, list[int]]:
    seeks, forgotten = Seeks(), []
    consumer: Any = seeks
    p = Positions(store=store, consumer=consumer, settle=_nothing,  # type: ignore[arg-type]
                  forget=lambda: forgotten.append(1))
    p.applied = {(T, 0): 7, (T, 1): 9, (T, 4): 2}
    return p, seeks, forgotten


async def test_resuming_a_lane_moves_only_its_partitions() -> None:
    store = StoredOffsets({(T, 0): 5, (T, 1): 9, (T, 4): 1})
    p, seeks, forgotten = positions(store)
    lane_a, lane_b = p.stamp({0, 4}), p.stamp({1})
    await p.resume({0, 4})
    assert store.asked == [[(T, 0), (T, 4)]]
    assert seeks.sought == [(T, 0, 6), (T, 4, 2)]
    assert p.applied == {(T, 0): 5, (T, 1): 9, (T, 4): 1}
    assert p.stamp({0, 4}) != lane_a  # what lane A prepared meanwhile is dropped
    assert p.stamp({1}) == lane_b  # lane B's batch in hand is written
    assert forgotten == []  # lane B keeps its cache (lane A forgets its own)


async def test_a_lost_partition_or_a_rebalance_changes_the_stamp() -> None:
    p, _, _ = positions(StoredOffsets({}))
    before, lost = p.stamp({1}), p.stamp({4})
    p.disown([4])
    assert p.stamp({1}) == before
    assert p.stamp({4}) != lost
    assert p.owned_partitions() == {0, 1}
    p.generation += 1  # as on a revocation or an assignment
    assert p.stamp({1}) != before
    assert p.fence({0, 1, 4}) == {}  # nothing claimed in this test: no epochs
