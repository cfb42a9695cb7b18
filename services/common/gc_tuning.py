"""The garbage collector's pace for a Reslot process, set once at start (`reslot ...`).

The scheduler keeps every owned centre's calendar in memory (hundreds of thousands of
long-lived objects) and allocates in bursts: a plan makes a few objects per displaced
booking (events, rows, decisions) that live until its batch is written. With CPython's
default thresholds (700, 10, 10) such a burst triggers many full collections, and each
walks the whole heap, calendars included: measured on the portal-wide outage of
`make bench` (f), 34 full collections took 10.0 s of its 24.4 s. With gen0 at 100,000
allocations there were none, and the young collections cost 0.6 s in all.

Young cyclic garbage is still collected, only less often (at most one gen0's worth of young
objects more in memory); full collections still run, after a hundred young ones (ten
million allocations), when the long-lived part of the heap has grown by a quarter since
the last (CPython's own rule). What exists when the command starts (the modules imported so
far, their classes and functions) is frozen out of the collector's walks: it lives as long
as the process.
"""

import gc

THRESHOLDS = (100_000, 10, 10)


def tune_gc() -> None:
    """Freeze what exists now and space collections out (above): call once at start."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
