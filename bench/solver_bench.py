"""Solver bench: seeded centres of 1,500 / 5,000 / 20,000 displaced bookings.

    python bench/solver_bench.py [--json out.json] [--seeds 1,2,3] [--workers 2]

For each size: solve time, cost, proven bound, gap, status, the greedy baseline's cost and
time, and whether both plans pass the validator. Each size is solved with its time target
as the time limit. run() returns the rows for bench/run.py.
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generator import generate
from bench.report import dict_table
from services.scheduler.solver import SolveParams, greedy, solve, validate

# displaced bookings -> (gap target %, solve time target s); the time target is the limit.
TARGETS = {1500: (0.1, 1.0), 5000: (0.1, 1.0), 20000: (0.5, 3.0)}


def run(
    sizes: tuple[int, ...] = tuple(TARGETS), seeds: tuple[int, ...] = (1,), workers: int = 2
) -> list[dict[str, Any]]:
    """One row per (size, seed)."""
    return [_row(size, seed, workers) for size in sizes for seed in seeds]


def _row(size: int, seed: int, workers: int) -> dict[str, Any]:
    gap_target, time_target = TARGETS.get(size, (0.5, 3.0))
    centre = generate(size, seed)
    started = time.perf_counter()
    plan = solve(centre, SolveParams(time_limit_s=time_target, workers=workers))
    solve_s = time.perf_counter() - started
    started = time.perf_counter()
    baseline = greedy(centre)
    greedy_s = time.perf_counter() - started
    gap = 100.0 * (plan.cost - plan.bound) / max(plan.cost, 1)
    return {
        "displaced": size,
        "seed": seed,
        "families": sum(1 for b in centre.bookings if b.group_id),
        "solve_s": round(solve_s, 3),
        "cost": plan.cost,
        "bound": plan.bound,
        "gap_pct": round(gap, 4),
        "status": plan.status,
        "unplaced": sum(1 for a in plan.assignments if a.to_start is None),
        "greedy_cost": baseline.cost,
        "greedy_s": round(greedy_s, 3),
        "greedy_over_pct": round(100.0 * (baseline.cost - plan.cost) / max(plan.cost, 1), 3),
        "valid": not validate(centre, plan) and not validate(centre, baseline),
        "target_gap_pct": gap_target,
        "target_s": time_target,
        "met": gap <= gap_target and solve_s <= time_target,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--sizes", default=",".join(map(str, TARGETS)))
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    rows = run(tuple(int(s) for s in args.sizes.split(",")),
               tuple(int(s) for s in args.seeds.split(",")), args.workers)
    print(dict_table("solver: one centre, seeded instances", rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(row["valid"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
