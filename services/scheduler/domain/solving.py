"""What planning needs to be told (policy, solver, v1.1 figures), and a plan made safe.

Shared by the first plan of an outage (process.py) and the re-plans of the waiting list
(waiting.py), so both use the same hard rules, cost and validation.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from services.scheduler.domain.offers import ReplyPolicy
from services.scheduler.solver.greedy import greedy
from services.scheduler.solver.model import Instance, Plan, Policy, SolveParams
from services.scheduler.solver.validate import validate

log = logging.getLogger("reslot.scheduler")

Solver = Callable[[Instance, SolveParams], Plan]


@dataclass(frozen=True)
class PlanningConfig:
    policy: Policy
    params: SolveParams
    solver: Solver
    default_slot_min: int = 15
    waiting_horizon_days: int = 60  # v1.1: how far after the original slot the waiting go
    restore_notice_min: int = 2880  # v1.1: least notice of a restore
    advice_day_share: float = 0.25  # v1.1: most of a day's usual capacity advised per date
    replies: ReplyPolicy = field(default_factory=ReplyPolicy)  # v1.1: offers, review, reply links
    retain_past_days: int = 30  # past bookings and slots kept this long (retirement.py)

    def waiting_policy(self) -> Policy:
        """The policy of a waiting-list re-plan: the same rules, a longer horizon."""
        return self.policy.model_copy(update={"horizon_days": self.waiting_horizon_days})


def valid_plan(instance: Instance, config: PlanningConfig, plan_id: str) -> Plan:
    """The solver's plan, checked by the validator; never publish a plan that fails it."""
    plan = config.solver(instance, config.params)
    violations = validate(instance, plan)
    if not violations:
        return plan
    log.error("plan %s failed validation, using the greedy plan: %s", plan_id, violations[:5])
    fallback = greedy(instance)
    problems = validate(instance, fallback)
    if problems:
        raise AssertionError(f"greedy plan {plan_id} is invalid too: {problems[:5]}")
    return fallback
