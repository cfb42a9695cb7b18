"""services/common/runtime.py: the pace of garbage collection every `reslot` command sets
at start, the scheduler's own, and keep_long_lived: frozen objects leave the collector's
passes, and a cycle among them is still collected by the periodic full collection."""

import gc
import sys
import time
import weakref
from collections.abc import Iterator

import pytest

from services.common import runtime
from services.common.runtime import BATCHED_YOUNG, THRESHOLDS, tune_gc, tune_scheduler


@pytest.fixture
def restored() -> Iterator[None]:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored")
def test_young_collections_are_spaced_out_and_what_exists_is_frozen() -> None:
    gc.set_threshold(700, 10, 10)
    kept = [object() for _ in range(10)]
    tune_gc()
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] >= 50_000  # a plan's burst of objects, not CPython's 700
    assert gc.get_freeze_count() >= len(kept)


@pytest.mark.usefixtures("restored")
def test_the_scheduler_sets_its_own_pace_over_the_commands_and_hands_the_gil_over_often(
        ) -> None:
    tune_gc()
    tune_scheduler()
    assert gc.get_threshold() == (BATCHED_YOUNG, *THRESHOLDS[1:])
    assert sys.getswitchinterval() == pytest.approx(runtime.SWITCH_INTERVAL_S)


@pytest.mark.usefixtures("restored")
def test_cyclic_garbage_made_after_start_is_still_collected() -> None:
    tune_gc()

    class Cycle:
        other: "Cycle"

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    gone = id(a)
    del a, b
    assert gc.collect() >= 2
    assert all(id(o) != gone for o in gc.get_objects() if isinstance(o, Cycle))


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _garbage_cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_frozen_cycles_wait_for_the_periodic_full_collection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        gc.collect()
        monkeypatch.setattr(runtime, "_last_full", time.monotonic())
        cycle = _garbage_cycle()
        runtime.keep_long_lived()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert cycle() is not None  # frozen: out of every pass
        monkeypatch.setattr(runtime, "_last_full",
                            time.monotonic() - runtime.FULL_COLLECTION_EVERY_S)
        runtime.keep_long_lived()
        assert cycle() is None  # the full collection found it
    finally:
        gc.unfreeze()
