"""The solver's vocabulary: one centre's displaced bookings, its free slots, and a plan.

Frozen pydantic models so an instance can be hashed, logged and replayed as a value.
Times are tz-aware (UTC); `day` fields are the centre-local calendar date, computed once by
whoever builds the instance, so the solver never needs the centre's time zone.
"""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.reasons import MovedReason, UnplacedReason

MonthDay = int  # MMDD, e.g. 430 for 30 April


class Policy(BaseModel):
    """The rescheduling policy of CONTRACT.md (v1 and v1.1); every figure is a setting.

    horizon_days is whatever the caller plans with: 30 for an outage, waiting_horizon_days
    when the waiting list is planned again; nothing in the solver assumes either.
    """

    model_config = ConfigDict(frozen=True)

    horizon_days: int = 30
    processing_days: int = 15
    # v1.1: an official's processing takes processing_days when the new slot's local date
    # falls in a commitment window (inclusive MMDD ranges; lo > hi wraps over New Year),
    # processing_days_uncommitted otherwise.
    processing_days_uncommitted: int = 30
    commitment_windows: tuple[tuple[MonthDay, MonthDay], ...] = ((101, 430), (1001, 1201))
    group_window_min: int = 30
    unplaced_penalty: int = 100_000
    fairness_day_penalty: int = 2880  # v1.1: per day the original slot is nearer the outage
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
    """A booking whose slot fell in an outage window and must move.

    extra="forbid": a caller still passing a field that no longer exists (v1's `deadline`)
    fails loudly instead of being planned without it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    booking_id: str
    service: str
    from_start: AwareDatetime
    from_day: date  # centre-local date of from_start
    category: str  # standard | official | medical
    outage_day: date  # centre-local first date of the outage that displaced it (fairness)
    # Declared travel date; the deadline (travel_date - processing time) depends on the new
    # slot's date for an official, so it is priced per slot by cost.py, never stored here.
    travel_date: date | None = None
    group_id: str | None = None
    moved_before: bool = False  # its current slot is already a move of ours: moved_again


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
