"""What the garbage collector does during a timed part of the bench."""

import contextlib
import gc
import time
from collections.abc import Iterator


@contextlib.contextmanager
def full_collections() -> Iterator[list[float]]:
    """The durations (s) of the collector's full passes (generation 2) meanwhile."""
    found: list[float] = []
    began = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                found.append(time.perf_counter() - began[0])

    gc.callbacks.append(watch)
    try:
        yield found
    finally:
        gc.callbacks.remove(watch)
