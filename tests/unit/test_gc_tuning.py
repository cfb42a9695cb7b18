"""The pace of garbage collection every `reslot` command sets at start."""

import gc
from collections.abc import Iterator

import pytest

from services.common.gc_tuning import THRESHOLDS, tune_gc


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored")
def test_young_collections_are_spaced_out_and_what_exists_is_frozen() -> None:
    gc.set_threshold(700, 10, 10)
    kept = [object() for _ in range(10)]
    tune_gc()
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] >= 100_000  # a plan's burst of objects, not CPython's 700
    assert gc.get_freeze_count() >= len(kept)


@pytest.mark.usefixtures("restored")
def test_cyclic_garbage_made_after_start_is_still_collected() -> None:
    tune_gc()

    class Node:
        other: "Node"

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = id(a)
    del a, b
    assert gc.collect() >= 2
    assert all(id(o) != gone for o in gc.get_objects() if isinstance(o, Node))
