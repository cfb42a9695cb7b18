"""A centre's calendar as the scheduler knows it: a plain value, folded from input events.

Times are tz-aware UTC datetimes; local days are derived with the centre's time zone.
The `dirty` sets name what changed since the state was last stored, so the store writes
only that (ingestion is batched: thousands of events per transaction).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from schemas.data import Applicant, CentreRegistered

SlotKey = tuple[str, dt.datetime]  # (service, start)
BookingStatus = Literal["active", "cancelled", "unknown"]


@dataclass(slots=True)  # thousands per centre: no __dict__ each
class SlotRec:
    duration_min: int
    capacity: int  # 0 once withdrawn: bookings left in it are a capacity conflict


@dataclass(slots=True)
class BookingRec:
    """A booking; `unknown` = heard of (moved or cancelled) before it was created."""

    status: BookingStatus
    service: str = ""
    slot_start: dt.datetime | None = None
    group_id: str | None = None
    category: str = "standard"
    travel_date: dt.date | None = None
    applicant: Applicant | None = None

    @property
    def active(self) -> bool:
        return self.status == "active" and self.slot_start is not None


@dataclass(slots=True)
class OutageRec:
    start: dt.datetime
    end: dt.datetime
    services: tuple[str, ...] | None  # None = every service
    notice_min: int
    announced: dt.datetime  # the outage event's time: notice counts from it
    active: bool
    reason: str = ""

    def covers(self, service: str, start: dt.datetime, end: dt.datetime) -> bool:
        """Half-open overlap of [start, end) with the window, for a service it stops."""
        if not self.active or (self.services is not None and service not in self.services):
            return False
        return start < self.end and self.start < end


@dataclass(slots=True)
class Decision:
    """The standing decision for a displaced booking, so it is decided once per slot."""

    outage_id: str
    plan_id: str
    kind: Literal["moved", "unplaced"]
    at_start: dt.datetime  # the slot the booking held when it was decided
    reason: str = ""
    to_start: dt.datetime | None = None


@dataclass(slots=True)
class BatchNotes:
    """What one input batch did to a centre, for what is decided once per batch (settle).

    Never stored: a batch is applied and written as one, and a replay applies it again."""

    slots: set[SlotKey] = field(default_factory=set)  # slots whose count or capacity changed
    everything: bool = False  # the centre or an outage changed: look at every slot
    cause: tuple[str, dt.datetime] | None = None  # (id, time) of the batch's last event here

    def clear(self) -> None:
        self.slots.clear()
        self.everything = False
        self.cause = None


@dataclass
class CentreState:
    centre_id: str
    info: CentreRegistered | None = None
    slots: dict[SlotKey, SlotRec] = field(default_factory=dict)
    bookings: dict[str, BookingRec] = field(default_factory=dict)
    outages: dict[str, OutageRec] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    # Conflicts already reported, so each overbooking is reported once per change.
    conflicts: dict[SlotKey, tuple[int, int]] = field(default_factory=dict)
    # Derived index: active bookings per slot (rebuilt on load, kept by the fold).
    occupancy: dict[SlotKey, int] = field(default_factory=dict)
    batch: BatchNotes = field(default_factory=BatchNotes)
    dirty_info: bool = False
    dirty_slots: set[SlotKey] = field(default_factory=set)
    dirty_bookings: set[str] = field(default_factory=set)
    dirty_outages: set[str] = field(default_factory=set)
    dirty_decisions: set[str] = field(default_factory=set)
    dirty_conflicts: set[SlotKey] = field(default_factory=set)

    def reindex(self) -> None:
        self.occupancy.clear()
        for booking in self.bookings.values():
            if booking.active:
                assert booking.slot_start is not None
                key = (booking.service, booking.slot_start)
                self.occupancy[key] = self.occupancy.get(key, 0) + 1

    def clear_dirty(self) -> None:
        self.dirty_info = False
        for s in (
            self.dirty_slots,
            self.dirty_bookings,
            self.dirty_outages,
            self.dirty_decisions,
            self.dirty_conflicts,
        ):
            s.clear()

    def add_booking(self, booking_id: str, booking: BookingRec) -> None:
        """A new record for `booking_id`, in the occupancy index if active. It may replace
        only a placeholder (moved or cancelled before created), which held no place."""
        self.bookings[booking_id] = booking
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), +1)
        self.dirty_bookings.add(booking_id)

    def set_slot(self, booking_id: str, booking: BookingRec, start: dt.datetime | None) -> None:
        """Move a booking's place in the occupancy index along with its slot."""
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), -1)
        booking.slot_start = start
        if booking.active:
            assert start is not None
            self._count((booking.service, start), +1)
        self.dirty_bookings.add(booking_id)

    def set_status(self, booking_id: str, booking: BookingRec, status: BookingStatus) -> None:
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), -1)
        booking.status = status
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), +1)
        self.dirty_bookings.add(booking_id)

    def _count(self, key: SlotKey, delta: int) -> None:
        self.occupancy[key] = self.occupancy.get(key, 0) + delta

    def booking_end(self, booking: BookingRec, default_slot_min: int) -> dt.datetime:
        assert booking.slot_start is not None
        slot = self.slots.get((booking.service, booking.slot_start))
        minutes = slot.duration_min if slot and slot.duration_min else default_slot_min
        return booking.slot_start + dt.timedelta(minutes=minutes)


@dataclass(frozen=True)
class PlanSummary:
    plan_id: str
    centre_id: str
    outage_id: str
    displaced: int
    moved: int
    unplaced: int
    cost: int
    bound: int
    status: str
    solve_ms: int
