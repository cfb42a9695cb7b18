"""Generated centres: the plan for 1,500 displaced is valid and fast, and any solve is
deterministic (a replay after a crash must reach the same decisions)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.generator import generate
from services.scheduler.solver import Plan, SolveParams, greedy, solve, validate


def same_decisions(first: Plan, second: Plan) -> bool:
    return first.model_copy(update={"solve_ms": 0}) == second.model_copy(update={"solve_ms": 0})


def test_generated_1500_displaced_solves_valid_and_fast() -> None:
    centre = generate(1500, seed=1)
    started = time.perf_counter()
    plan = solve(centre, SolveParams(time_limit_s=1.0))
    assert time.perf_counter() - started < 20
    assert validate(centre, plan) == []
    assert 0 < plan.bound <= plan.cost
    assert greedy(centre).cost >= plan.cost


@pytest.mark.parametrize(
    ("size", "seed", "share", "workers"), [(1500, 3, 0.1, 1), (60, 0, 0.5, 2), (40, 1, 0.5, 1)]
)
def test_solving_twice_gives_the_same_plan(size: int, seed: int, share: float,
                                           workers: int) -> None:
    centre = generate(size, seed=seed, groups_share=share)
    params = SolveParams(time_limit_s=0.5, workers=workers)
    assert same_decisions(solve(centre, params), solve(centre, params))


def test_generator_is_seeded() -> None:
    assert generate(300, seed=5) == generate(300, seed=5)
    assert generate(300, seed=5) != generate(300, seed=6)


def test_a_fresh_process_reaches_the_same_plan() -> None:
    # A replay after a crash runs in a new process, with another string hash seed.
    code = (
        "from services.scheduler.solver import solve, SolveParams\n"
        "from bench.generator import generate\n"
        "plan = solve(generate(40, seed=14, groups_share=0.5), SolveParams(time_limit_s=0.5))\n"
        "print(plan.model_copy(update={'solve_ms': 0}).model_dump_json())\n"
    )
    root = Path(__file__).resolve().parents[2]
    here = solve(generate(40, seed=14, groups_share=0.5), SolveParams(time_limit_s=0.5))
    for hash_seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=root, check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)},
        )
        assert Plan.model_validate_json(out.stdout) == here.model_copy(update={"solve_ms": 0})
