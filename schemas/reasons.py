"""The reason codes of CONTRACT.md, one Literal per decision kind.

The scheduler gives them, the notifier turns them into sentences, the status API lists
them: a code that is not here is a bug, caught by mypy and by the models.
"""

from typing import Literal, TypeGuard, get_args

MovedReason = Literal[
    "same_day",  # v1: the new slot is on the original local day
    "next_days",  # v1: another day, no travel deadline known
    "deadline_kept",  # v1: another day, still before the travel deadline
    "deadline_missed",  # v1: the only room left is after the travel deadline
    "moved_again",  # v1.1: a booking moved a second time (its new slot was hit too)
    "earlier_day",  # v1.1: moved to a day before the original one
    "from_waiting_list",  # v1.1: a waiting booking placed when room appeared
    "restored",  # v1.1: the outage was lifted or shortened: back to the original slot
    "applicant_choice",  # v1.1: the applicant picked another offered time
    "ops_override",  # v1.1: an operator pinned the booking to a slot
]
UnplacedReason = Literal[
    "no_capacity_in_horizon",  # no free slot within the horizon: a person must call
    "group_cannot_stay_together",  # each could go alone, but the family stays together
]
RefusalReason = Literal[
    "slot_taken",  # the chosen slot is full or breaks a hard rule now
    "superseded",  # a later decision replaced the offer
    "already_answered",  # the offer has an answer already (second reply, double click)
    "not_offered",  # no such offer, or not this booking's
    "breaks_rule",  # a pin that breaks a hard rule (the message says which)
]
PlanTrigger = Literal["outage", "revision", "capacity", "lift", "reply"]

MOVED_REASONS: tuple[str, ...] = get_args(MovedReason)
UNPLACED_REASONS: tuple[str, ...] = get_args(UnplacedReason)


def is_moved(reason: str) -> TypeGuard[MovedReason]:
    return reason in MOVED_REASONS


def is_unplaced(reason: str) -> TypeGuard[UnplacedReason]:
    return reason in UNPLACED_REASONS
