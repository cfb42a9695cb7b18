"""The hard rules of CONTRACT.md on plain values, one function each.

The solver (solver/rules.py, on its instance models) and a person's choice (choice.py: an
applicant's alternative, an operator's pin) both decide with these, so a slot the page
offers is a slot the solver could have chosen. Nothing here imports the solver.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta


def room_for(count: int, free: int) -> bool:
    # The bookings moved into a slot never exceed the places it has left.
    return count <= free


def notice_kept(start: datetime, earliest: datetime) -> bool:
    # The applicant must hear of the new time at least the notice before it.
    return start >= earliest


def within_horizon(start: datetime, from_start: datetime, horizon_days: int) -> bool:
    # Never more than the horizon after the slot the booking holds; earlier is allowed.
    return start <= from_start + timedelta(days=horizon_days)


def one_day(days: Iterable[date]) -> bool:
    # A family is seen on one local day: members moved and members who stay put.
    return len(set(days)) <= 1


def within_window(starts: Iterable[datetime], window_min: int) -> bool:
    # A family's appointments all start within the group window of each other.
    moments = [int(s.timestamp()) // 60 for s in starts]
    return not moments or max(moments) - min(moments) <= window_min
