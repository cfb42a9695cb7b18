"""Parts (e) and (f) of the bench (bench/replan.py, bench/portal_outage.py), each in a fresh
interpreter standing for a `reslot scheduler` process: with the pace of garbage collection
it sets at start and the hand-over of the GIL (services/common/runtime.py,
tune_scheduler), or, as the baseline of (f), CPython's default. Never after other parts in
one heap, which slowed a second run of (f) by a fifth."""

import asyncio
import contextlib
import multiprocessing as mp
import queue
from typing import Any

from bench.portal_outage import part_f
from bench.replan import part_e
from services.common.logs import configure
from services.common.runtime import tune_scheduler


def start_as_a_scheduler(tuned: bool = True) -> None:
    """What a fresh interpreter standing for `reslot scheduler` sets first: the bench's
    logging, and (`tuned`) what the scheduler sets when it starts (tune_scheduler)."""
    configure("WARNING", "console")
    if tuned:
        tune_scheduler()


def _part_in_child(part: str, tuned: bool, in_parts: bool, results: Any) -> None:
    start_as_a_scheduler(tuned)
    results.put(asyncio.run(part_e() if part == "e" else part_f(in_parts=in_parts)))


def as_a_scheduler(part: str, tuned: bool = True, in_parts: bool = True) -> dict[str, Any]:
    """Part `part` ("e" or "f") in a fresh interpreter, as a `reslot scheduler` process runs
    it: with what it sets at start (services/common/runtime.py, tune_scheduler),
    or CPython's default (`tuned=False`); (f) `in_parts` as a lane applies it, or in one
    transaction (bench/portal_outage.py). Never after other parts in one heap, which slowed
    a second run of (f) by a fifth."""
    if part not in ("e", "f"):
        raise ValueError(f"no part ({part}) runs as a scheduler")
    context = mp.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_part_in_child, args=(part, tuned, in_parts, results))
    child.start()
    try:
        while True:  # its result, or its end: a child that died says so now, not in 15 min
            with contextlib.suppress(queue.Empty):
                found: dict[str, Any] = results.get(True, 1.0)
                return found
            if not child.is_alive():
                raise RuntimeError(f"part ({part}) ended with exit code {child.exitcode} "
                                   f"and no result")
    finally:
        child.join(60)


def part_f_beside_default_gc() -> dict[str, Any]:
    """(f) as the scheduler runs it, and beside it the same outage in one transaction (as
    before the parts of services/scheduler/parts.py) and with CPython's default pace of
    garbage collection (the baseline of runtime.py's figures)."""
    tuned = as_a_scheduler("f")
    whole = as_a_scheduler("f", in_parts=False)
    default = as_a_scheduler("f", tuned=False)
    tuned["one_transaction"] = {k: whole[k] for k in (
        "total_s", "first_event_s", "plan_and_events_s", "store_write_s", "publish_s",
        "events_published", "solve_total_ms", "full_collections")}
    tuned["default_gc"] = {k: default[k] for k in (
        "total_s", "first_event_s", "solve_total_ms", "full_collections")}
    tuned["gc_thresholds"] = list(tuned.pop("thresholds"))
    return tuned
