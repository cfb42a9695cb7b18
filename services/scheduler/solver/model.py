"""The solver's vocabulary: one centre's displaced bookings, its free slots, and a plan.

Frozen pydantic models so an instance can be hashed, logged and replayed as a value.
Times are tz-aware (UTC); `day` fields are the centre-local calendar date, computed once by
whoever builds the instance, so the solver never needs the centre's time zone.
"""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.reasons import MovedReason, UnplacedReason


class Policy(BaseModel):
    """The v1 rescheduling policy of CONTRACT.md; every figure is a setting."""

    model_config = ConfigDict(frozen=True)

    horizon_days: int = 30
    processing_days: int = 15
    group_window_min: int = 30
    unplaced_penalty: int = 100_000
    day_change_penalty: int = 240
    late_day_penalty: int = 1440
    weights: dict[str, int] = Field(
        default_factory=lambda: {"standard": 1, "official": 2, "medical": 3}
    )


class Slot(BaseModel):
    """Places still free at one start time of one service."""

    model_config = ConfigDict(frozen=True)

    service: str
    start: AwareDatetime
    day: date  # the centre-local date of `start`
    free: int  # places left after every active booking that is not displaced here


class Displaced(BaseModel):
    """A booking whose slot fell in an outage window and must move."""

    model_config = ConfigDict(frozen=True)

    booking_id: str
    service: str
    from_start: AwareDatetime
    from_day: date  # centre-local date of from_start
    category: str  # standard | official | medical
    deadline: date | None = None  # travel_date - processing_days, centre-local
    group_id: str | None = None


class Instance(BaseModel):
    """Everything one solve needs, prepared by build_instance."""

    model_config = ConfigDict(frozen=True)

    centre_id: str
    earliest: AwareDatetime  # now + notice: no new slot may start before it
    bookings: tuple[Displaced, ...]
    slots: tuple[Slot, ...]  # outage windows and full slots already left out
    # group_id -> (start, local day) of members that are NOT displaced: they stay put,
    # so the displaced members of their family must join them.
    anchors: dict[str, tuple[tuple[AwareDatetime, date], ...]] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)


class Assignment(BaseModel):
    """Where one displaced booking goes; to_start None means a person must call."""

    model_config = ConfigDict(frozen=True)

    booking_id: str
    to_start: AwareDatetime | None
    reason: MovedReason | UnplacedReason


class Plan(BaseModel):
    """One decision per displaced booking, its cost, and how far from optimal it can be."""

    model_config = ConfigDict(frozen=True)

    assignments: tuple[Assignment, ...]  # sorted by booking_id
    cost: int
    bound: int  # proven lower bound on the optimal cost
    status: Literal["optimal", "feasible"]
    solve_ms: int


class SolveParams(BaseModel):
    """How hard to try; the deterministic budget derives from time_limit_s."""

    model_config = ConfigDict(frozen=True)

    time_limit_s: float = 2.0
    workers: int = 1
    seed: int = 0
