"""A family's choice of slot, from what the store says: who moves, who stays, what is free.

Pure: the read model loads the rows, this turns them into the values the scheduler's own
rule (services/scheduler/domain/choice.py) judges, so the page offers the slots the
scheduler will accept. Who moves, as the scheduler's fold has it (family_choice.py): every
active booking of the centre sharing the booking's group id (the booking alone without
one), all into the chosen slot, so no member stays behind as an anchor.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.scheduler.domain.choice import Closure, Movers, SlotView


@dataclass(frozen=True)
class Standing:
    """A booking's standing decision (the decisions table)."""

    kind: str  # moved | unplaced | restored
    plan_id: str
    outage_id: str
    reason: str
    at_start: dt.datetime
    to_start: dt.datetime | None
    original_start: dt.datetime | None

    @property
    def waiting(self) -> bool:
        return self.kind == "unplaced"

    @property
    def original(self) -> dt.datetime:
        return self.original_start or self.at_start

    def holds(self, slot_start: dt.datetime | None) -> bool:
        """Still stands for a booking now in `slot_start` (the booking system did not move it
        elsewhere itself): as the scheduler's Decision.holds."""
        return slot_start == (self.at_start if self.waiting else self.to_start)


@dataclass(frozen=True)
class Member:
    """One booking of a family (a booking alone is a family of one)."""

    booking_id: str
    service: str
    slot_start: dt.datetime | None
    active: bool
    standing: Standing | None

    @property
    def displaced(self) -> bool:
        return self.active and self.standing is not None and self.standing.holds(self.slot_start)


@dataclass(frozen=True)
class Policy:
    horizon_days: int
    waiting_horizon_days: int
    window_min: int


@dataclass(frozen=True)
class SlotRow:
    start: dt.datetime
    duration_min: int
    capacity: int


def movers(booking_id: str, family: Sequence[Member], notice_min: int, policy: Policy,
           timezone: ZoneInfo) -> Movers:
    """The family of `booking_id` moving together into one slot chosen for it: each member's
    horizon counts from the slot it holds now; a waiting booking has the waiting horizon."""
    me = next(m for m in family if m.booking_id == booking_id)
    assert me.standing is not None, "not a displaced booking"
    moving = sorted((m for m in family if m.active or m is me), key=lambda m: m.booking_id)
    horizon = policy.waiting_horizon_days if me.displaced and me.standing.waiting \
        else policy.horizon_days
    return Movers(service=me.service,
                  starts=tuple(m.slot_start for m in moving if m.slot_start is not None),
                  original=me.standing.original, anchors=(), timezone=timezone,
                  notice_min=notice_min, horizon_days=horizon, window_min=policy.window_min)


def slot_views(slots: Iterable[SlotRow], occupied: Mapping[dt.datetime, int],
               family: Movers) -> list[SlotView]:
    """The service's slots with the places left for the family: capacity less every active
    booking in it, its own members sitting there counting as free for it."""
    found = []
    for s in slots:
        if s.capacity <= 0:
            continue  # withdrawn: no such slot is open
        own = sum(1 for start in family.starts if start == s.start)
        free = s.capacity - occupied.get(s.start, 0) + own
        found.append(SlotView(s.start, s.start + dt.timedelta(minutes=s.duration_min), free))
    return found


def outage_clock(record: Mapping[str, object] | None) -> dt.datetime | None:
    """The latest of the outage's declaration and last revision: its notice never counts
    from before them (the decision's clock, CONTRACT v1.1)."""
    if record is None:
        return None
    times = [dt.datetime.fromisoformat(str(record[k])) for k in ("announced", "revised")
             if record.get(k)]
    return max(times) if times else None


def closures(records: Iterable[Mapping[str, object]]) -> list[Closure]:
    """The active outage windows of a centre, from its outage records."""
    found = []
    for r in records:
        if not r.get("active"):
            continue
        services = r.get("services")
        found.append(Closure(
            dt.datetime.fromisoformat(str(r["start"])), dt.datetime.fromisoformat(str(r["end"])),
            tuple(str(s) for s in services) if isinstance(services, list) else None))
    return found
