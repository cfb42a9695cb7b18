"""The pure rescheduling solver: instance in, plan out, no I/O.

solve() is the one the scheduler calls; validate() checks any plan against CONTRACT.md;
greedy() is the baseline; spread_advice() says where extra places would seat the waiting.
"""

from services.scheduler.solver.advice import AdviceCalendar, spread_advice
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
    "AdviceCalendar",
    "Assignment",
    "Displaced",
    "Instance",
    "Plan",
    "Policy",
    "Slot",
    "SolveParams",
    "greedy",
    "plan_cost",
    "solve",
    "spread_advice",
    "validate",
]
