"""keep_long_lived: frozen objects leave the collector's passes, and a cycle among them is
still collected by the periodic full collection."""

import gc
import weakref

import pytest

from services.common import runtime


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
        monkeypatch.setattr(runtime, "_last_full", runtime.time.monotonic())
        cycle = _garbage_cycle()
        runtime.keep_long_lived()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert cycle() is not None  # frozen: out of every pass
        monkeypatch.setattr(runtime, "_last_full",
                            runtime.time.monotonic() - runtime.FULL_COLLECTION_EVERY_S)
        runtime.keep_long_lived()
        assert cycle() is None  # the full collection found it
    finally:
        gc.unfreeze()
