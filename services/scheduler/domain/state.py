"""A centre's calendar as the scheduler knows it: a plain value, folded from input events.

Times are tz-aware UTC datetimes; local days are derived with the centre's time zone.
The `dirty` sets name what changed since the state was last stored, so the store writes
only that (ingestion is batched: thousands of events per transaction).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from schemas.data import Applicant, CentreRegistered, ExtraPlaces
from schemas.reasons import PlanTrigger
from services.scheduler.domain.offers import Replies

SlotKey = tuple[str, dt.datetime]  # (service, start)
BookingStatus = Literal["active", "cancelled", "unknown"]
DecisionKind = Literal["moved", "unplaced", "restored"]


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
    announced: dt.datetime  # the declaration's time
    active: bool
    reason: str = ""
    revised: dt.datetime | None = None  # the last revision's time

    def clock(self, cause: dt.datetime) -> dt.datetime:
        """The decision's clock (CONTRACT v1.1): notice counts from the latest of the
        declaration, the last revision and the event that caused the decision, so an old
        event read late never lets a move start before the outage was even announced."""
        return max(self.announced, self.revised or self.announced, cause.astimezone(dt.UTC))

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
    kind: DecisionKind  # unplaced = waiting for a place; restored = back in its slot
    at_start: dt.datetime  # the slot the booking held when it was decided
    reason: str = ""
    to_start: dt.datetime | None = None
    original_start: dt.datetime | None = None  # before the first outage moved it (restore)
    notification_id: str | None = None  # its last message, superseded by the next one
    decided_at: dt.datetime | None = None  # the decision's time (the call list compares)

    @property
    def original(self) -> dt.datetime:
        return self.original_start or self.at_start

    def holds(self, slot_start: dt.datetime | None) -> bool:
        """Whether the decision still stands for a booking now in `slot_start`: false once
        the booking system moved it elsewhere itself."""
        return slot_start == (self.at_start if self.kind == "unplaced" else self.to_start)


@dataclass(slots=True)
class BatchNotes:
    """What one input batch did to a centre, for what is decided once per batch (settle).

    Never stored: a batch is applied and written as one, and a replay applies it again."""

    slots: set[SlotKey] = field(default_factory=set)  # slots whose count or capacity changed
    everything: bool = False  # the centre or an outage changed: look at every slot
    cause: tuple[str, dt.datetime] | None = None  # (id, time) of the batch's last event here
    # Room added for these services (None: every service): the waiting are re-planned.
    room: set[str | None] = field(default_factory=set)
    trigger: PlanTrigger = "capacity"  # what added room last
    plan_cause: str | None = None  # the first event that added room: the plans' ids
    room_time: dt.datetime | None = None  # the last one's time: the decisions' clock
    reopened: bool = False  # the event being applied lifted or shrank an outage
    restored: dict[str, int] = field(default_factory=dict)  # by outage, in this batch
    pending: PlanTrigger | None = None  # room added by the event being applied

    def add_room(self, service: str | None, trigger: PlanTrigger) -> None:
        """Any fold handler whose event frees places for `service` (None: every service)
        says so here; settle() then re-plans the centre's waiting bookings once."""
        self.room.add(service)
        self.pending = trigger

    def clear(self) -> None:
        self.slots.clear()
        self.everything = False
        self.cause = None
        self.room.clear()
        self.trigger = "capacity"
        self.plan_cause = None
        self.room_time = None
        self.reopened = False
        self.restored.clear()
        self.pending = None


@dataclass(slots=True)
class Tally:
    """Counts the status page shows per centre (waiting is len(CentreState.waiting))."""

    placed_from_waiting: int = 0
    restored: int = 0


@dataclass(frozen=True, slots=True)
class AdviceRec:
    """The latest capacity advice of one outage at a centre, and the waiting it covers."""

    advice_id: str
    time: dt.datetime
    basis: str  # digest of the waiting booking ids: a new advice when it changes
    waiting: int
    extra: tuple[ExtraPlaces, ...]


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
    # Derived index: bookings waiting for a place (unplaced, still in that slot).
    waiting: set[str] = field(default_factory=set)
    tally: Tally = field(default_factory=Tally)
    advice: dict[str, AdviceRec] = field(default_factory=dict)  # by outage id
    replies: Replies = field(default_factory=Replies)  # v1.1: offers and their answers
    batch: BatchNotes = field(default_factory=BatchNotes)
    dirty_info: bool = False
    dirty_slots: set[SlotKey] = field(default_factory=set)
    dirty_bookings: set[str] = field(default_factory=set)
    dirty_outages: set[str] = field(default_factory=set)
    dirty_decisions: set[str] = field(default_factory=set)
    dirty_conflicts: set[SlotKey] = field(default_factory=set)
    dirty_tally: bool = False
    dirty_advice: set[str] = field(default_factory=set)
    # Past days leaving the calendar (retirement.py): the latest time the booking system
    # stamped on an event here, the cut last applied, and what left since last stored.
    event_clock: dt.datetime | None = None
    retired_before: dt.datetime | None = None
    retired_bookings: set[str] = field(default_factory=set)
    retired_slots: set[SlotKey] = field(default_factory=set)

    def reindex(self) -> None:
        self.occupancy.clear()
        for booking in self.bookings.values():
            if booking.active:
                assert booking.slot_start is not None
                key = (booking.service, booking.slot_start)
                self.occupancy[key] = self.occupancy.get(key, 0) + 1
        self.waiting = {
            booking_id for booking_id, dec in self.decisions.items()
            if dec.kind == "unplaced" and self.bookings[booking_id].active
            and dec.holds(self.bookings[booking_id].slot_start)
        }

    def clear_dirty(self) -> None:
        self.dirty_info = False
        self.dirty_tally = False
        self.dirty_advice.clear()
        self.replies.clear_dirty()
        for s in (
            self.dirty_slots,
            self.dirty_bookings,
            self.dirty_outages,
            self.dirty_decisions,
            self.dirty_conflicts,
            self.retired_bookings,
            self.retired_slots,
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

    def remove_booking(self, booking_id: str) -> None:
        """Forget `booking_id` and its decision (past days leaving, retirement.py): out of the
        occupancy index and the waiting list; its rows are deleted, not written."""
        booking = self.bookings.pop(booking_id)
        self.leave_waiting(booking_id)
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), -1)
        self.decisions.pop(booking_id, None)
        self.dirty_bookings.discard(booking_id)
        self.dirty_decisions.discard(booking_id)
        self.retired_bookings.add(booking_id)

    def set_slot(self, booking_id: str, booking: BookingRec, start: dt.datetime | None) -> None:
        """Move a booking's place in the occupancy index along with its slot; a booking that
        moves is no longer waiting (placed by us or by the booking system)."""
        self.leave_waiting(booking_id)
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), -1)
        booking.slot_start = start
        if booking.active:
            assert start is not None
            self._count((booking.service, start), +1)
        self.dirty_bookings.add(booking_id)

    def set_status(self, booking_id: str, booking: BookingRec, status: BookingStatus) -> None:
        self.leave_waiting(booking_id)  # a cancelled booking waits for nothing
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), -1)
        booking.status = status
        if booking.active:
            assert booking.slot_start is not None
            self._count((booking.service, booking.slot_start), +1)
        self.dirty_bookings.add(booking_id)

    def join_waiting(self, booking_id: str) -> None:
        self.waiting.add(booking_id)
        self.dirty_tally = True

    def leave_waiting(self, booking_id: str) -> None:
        if booking_id in self.waiting:
            self.waiting.discard(booking_id)
            self.dirty_tally = True

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
    trigger: PlanTrigger = "outage"
    restored: int = 0  # of `moved`, back in their original slot
    from_waiting: int = 0  # of `moved`, placed from the waiting list
    held: bool = False  # v1.1: held for review, nothing sent until approved
    approved_by: str = ""  # v1.1: who approved it, once approved
