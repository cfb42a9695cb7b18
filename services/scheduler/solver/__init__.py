"""The pure rescheduling solver: instance in, plan out, no I/O.

solve() is the one the scheduler calls; validate() checks any plan against CONTRACT.md;
greedy() is the baseline; capacity_advice() says which extra places would seat everyone.
"""

from services.scheduler.solver.advice import capacity_advice
from services.scheduler.solver.greedy import greedy
from services.scheduler.solver.model import (
    Assignment,
    Displaced,
    Instance,
    Plan,
    Policy,
    Slot,
    SolveParams,
)
from services.scheduler.solver.solve import solve
from services.scheduler.solver.validate import plan_cost, validate

__all__ = [
    "Assignment",
    "Displaced",
    "Instance",
    "Plan",
    "Policy",
    "Slot",
    "SolveParams",
    "capacity_advice",
    "greedy",
    "plan_cost",
    "solve",
    "validate",
]
