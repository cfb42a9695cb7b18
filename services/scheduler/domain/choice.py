"""A family moving into one slot chosen by a person: an applicant picking one of the
alternatives on the reply page, or an operator pinning a booking from the console.

Pure and small, over plain values, so the scheduler (from its state, when it folds the
reply) and the web front (from the store, when it shows the alternatives) judge a slot
alike; the front only shows, the scheduler decides (DESIGN.md v1.1). The rules are the
contract's hard rules (hard_rules.py), for the whole family at once.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.scheduler.domain import hard_rules as hard


@dataclass(frozen=True)
class Movers:
    """The members of one family who move together (a single booking is a family of one)."""

    service: str
    starts: tuple[dt.datetime, ...]  # the slot each one holds now: the horizon counts from it
    original: dt.datetime  # the slot the family held before any outage: "nearest" to it
    anchors: tuple[dt.datetime, ...]  # members who stay where they are
    timezone: ZoneInfo
    notice_min: int
    horizon_days: int
    window_min: int


@dataclass(frozen=True)
class SlotView:
    """One slot of the family's service: its start, end and places left for the movers
    (members already sitting in it count as free for them)."""

    start: dt.datetime
    end: dt.datetime
    free: int


@dataclass(frozen=True)
class Closure:
    """An active outage window and the services it stops (None: every service)."""

    start: dt.datetime
    end: dt.datetime
    services: tuple[str, ...] | None

    def stops(self, service: str, slot: SlotView) -> bool:
        stopped = self.services is None or service in self.services
        return stopped and slot.start < self.end and self.start < slot.end


def refusal(movers: Movers, slot: SlotView, closures: Iterable[Closure],
            now: dt.datetime) -> str | None:
    """Why the family may not move into `slot` at `now`, in words; None when it may."""
    if not hard.room_for(len(movers.starts), slot.free):
        return f"the slot has {max(slot.free, 0)} place(s) left for {len(movers.starts)}"
    if any(c.stops(movers.service, slot) for c in closures):
        return "the slot is inside an outage"
    earliest = now + dt.timedelta(minutes=movers.notice_min)
    if not hard.notice_kept(slot.start, earliest):
        return f"the slot starts less than {movers.notice_min} minutes from now"
    if not all(hard.within_horizon(slot.start, s, movers.horizon_days) for s in movers.starts):
        return f"the slot is more than {movers.horizon_days} days after the appointment"
    days = [t.astimezone(movers.timezone).date() for t in (slot.start, *movers.anchors)]
    if not hard.one_day(days):
        return "the family would be seen on different days"
    if not hard.within_window((slot.start, *movers.anchors), movers.window_min):
        return f"the family would start more than {movers.window_min} minutes apart"
    return None


def alternatives(movers: Movers, slots: Sequence[SlotView], closures: Sequence[Closure],
                 now: dt.datetime, limit: int) -> list[SlotView]:
    """Up to `limit` slots the family may move into now, nearest to its original slot."""
    allowed = [s for s in slots if refusal(movers, s, closures, now) is None
               and s.start not in movers.starts]
    allowed.sort(key=lambda s: (abs(s.start - movers.original), s.start))
    return allowed[:limit]
