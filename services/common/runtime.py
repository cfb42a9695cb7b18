"""Process-wide tuning: every `reslot` command sets the collector's pace first
(services/cli.py), and the scheduler then its own (`tune_scheduler`).

CPython's cyclic garbage collector runs a young-generation pass every 700 allocations of
container objects and, every 10 of those, an older pass; the full pass walks the whole heap.
A scheduler holding the calendars of many centres and allocating a few models per event
spends most of its time there: on 60,000 booking events, parsing cost 30 us per event with
the default thresholds and 10 us with these; on the portal-wide outage of `make bench` (f),
34 full collections took 10.0 s of its 24.4 s with the defaults, none with these. Our
objects rarely form cycles (reference counting frees them), so collecting less often costs
little memory. Objects alive at start-up (modules, settings) are frozen out of every
collection.
"""

import gc
import sys
import time

# Young generation every 50,000 allocations; older ones every 20 and 100 passes of the one
# below. CPython also skips a full pass until the survivors grew by a quarter.
THRESHOLDS = (50_000, 20, 100)
# The scheduler freezes every applied batch (keep_long_lived), which empties the young
# generation; a young pass in between would only walk the batch in hand, all of it still
# alive (a 5,000-event batch allocates about 460,000 tracked objects). It cost 2 us per event.
BATCHED_YOUNG = 1_000_000


def tune_gc(young: int = THRESHOLDS[0]) -> None:
    """Set the collector's thresholds (the young one: `young`) and freeze what is alive
    now; safe to call twice."""
    thresholds = (young, *THRESHOLDS[1:])
    if gc.get_threshold() != thresholds:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*thresholds)


# How often `keep_long_lived` lets the collector look at everything again.
FULL_COLLECTION_EVERY_S = 600.0
_last_full = time.monotonic()


def keep_long_lived() -> None:
    """Freeze what is alive now: the caller just added a batch to long-lived state.

    A scheduler's calendars only grow as events arrive, and every pass of the collector
    over the old generation walked all of them again: a fifth of ingestion. Frozen objects
    are still freed by reference counting; only cycles among them wait, until the full
    collection this runs every FULL_COLLECTION_EVERY_S seconds.
    """
    global _last_full
    now = time.monotonic()
    if now - _last_full >= FULL_COLLECTION_EVERY_S:
        _last_full = now
        gc.unfreeze()
        gc.collect()
    gc.freeze()


# How long a thread holding the GIL runs before one waiting for it may take it (CPython's
# default is 5 ms). The scheduler solves and builds a big plan in a worker thread for
# seconds while other lanes apply replies and the event loop fetches and writes: every hop
# between them waited up to a whole interval. Measured (bench.replies, PostgreSQL, a
# 20,000-displaced plan running): reply latency p50 131 -> 78 ms, p99 394 -> 239 ms.
SWITCH_INTERVAL_S = 0.001


def responsive_threads(interval_s: float = SWITCH_INTERVAL_S) -> None:
    """Hand the GIL over more often, so a CPU-bound thread delays others less."""
    sys.setswitchinterval(interval_s)


def tune_scheduler() -> None:
    """What a scheduler process sets when it starts (and the bench, standing for one):
    no young collections between the batches it freezes, the GIL handed over often."""
    tune_gc(young=BATCHED_YOUNG)
    responsive_threads()
