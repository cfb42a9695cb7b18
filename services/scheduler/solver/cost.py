"""The cost of a plan (CONTRACT.md "Cost of a plan"), written once.

Every term takes plain ints or numpy arrays (they broadcast), so the validator prices one
decision with ints and the flow prices a whole (class x slot) matrix with the same code.
Days are local day ordinals (date.toordinal()), times are minutes since the epoch.

    placement_cost = distance_part + day_part
    distance_part  = w x |to_minute - from_minute|
    day_part       = w x (day_change_penalty if the day changed
                          + late_day_penalty x days past the deadline)
    deadline       = travel_date - processing time; an official's processing time
                     depends on whether the NEW slot's date is in a commitment window
    unplaced_cost  = w x (unplaced_penalty + fairness_day_penalty x max(0, horizon_days - d)),
                     d = days from the outage's first local date to the original date

The flow's day hubs rely on the split: distance_part depends on the two minutes only (on
a line, so it adds up through a day's first or last start), day_part on the class and
the day only. Nothing else in the solver computes a cost.
"""

from datetime import date, datetime
from functools import lru_cache
from typing import cast

import numpy as np
import numpy.typing as npt

from services.scheduler.solver.model import Displaced, MonthDay, Policy

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Num = int | IntArray  # a figure, or one per element (they broadcast)
Flag = bool | BoolArray
Windows = tuple[tuple[MonthDay, MonthDay], ...]

NO_TRAVEL = 10**8  # a travel day ordinal past any slot's day: never late
COMMITTED_CATEGORY = "official"  # the only category whose processing time can change
_EPOCH = date(1970, 1, 1).toordinal()


# --- who pays: weight, and the numbers a booking brings ---------------------------------


def minute_of(moment: datetime) -> int:
    # Whole minutes since the epoch: costs are counted in minutes, never in seconds.
    return int(moment.timestamp()) // 60


def weight(category: str, policy: Policy) -> int:
    # Medical and official applicants weigh more; an unknown category counts as standard.
    return policy.weights.get(category, 1)


def committable(category: str) -> bool:
    # Officials travel under the facilitation procedure: their processing time varies.
    return category == COMMITTED_CATEGORY


def ints(value: Num) -> IntArray:
    # A term's result where the caller passed arrays (the terms take plain ints too).
    return np.asarray(value, dtype=np.int64)


def travel_ordinal(travel_date: date | None) -> int:
    return NO_TRAVEL if travel_date is None else travel_date.toordinal()


# --- commitment windows -----------------------------------------------------------------


def parse_windows(text: str) -> Windows:
    """'01-01..04-30,10-01..12-01' -> ((101, 430), (1001, 1201)); '' -> no window.

    Raises ValueError naming the part it cannot read: a bad setting stops the start."""
    windows = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        ends = part.split("..")
        if len(ends) != 2:
            raise ValueError(f"commitment window {part!r} is not MM-DD..MM-DD")
        lo, hi = (_month_day(end.strip(), part) for end in ends)
        windows.append((lo, hi))
    return tuple(windows)


def _month_day(text: str, part: str) -> MonthDay:
    month, _, day = text.partition("-")
    if not (len(month) == 2 and len(day) == 2 and month.isdigit() and day.isdigit()):
        raise ValueError(f"commitment window {part!r}: {text!r} is not MM-DD")
    try:
        date(2000, int(month), int(day))  # a leap year: 02-29 is a date
    except ValueError as exc:
        raise ValueError(f"commitment window {part!r}: {text!r} is no date ({exc})") from None
    return int(month) * 100 + int(day)


def committed(day: Num, policy: Policy) -> Flag:
    """Whether the local day (or each of an array of them) lies in a commitment window,
    inclusive at both ends."""
    if isinstance(day, int):
        return _committed_day(day, policy.commitment_windows)
    days = (day - _EPOCH).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    month_day = (months.astype(np.int64) % 12 + 1) * 100 + (
        (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    )
    return _in_windows(month_day, np.zeros(month_day.shape, dtype=np.bool_),
                       policy.commitment_windows)


@lru_cache(maxsize=4096)
def _committed_day(day: int, windows: Windows) -> bool:
    # One day at a time (the validator asks once per decision): cached, days repeat.
    when = date.fromordinal(day)
    return bool(_in_windows(when.month * 100 + when.day, False, windows))


def _in_windows(month_day: Num, inside: Flag, windows: Windows) -> Flag:
    for lo, hi in windows:
        if lo <= hi:
            inside = inside | ((month_day >= lo) & (month_day <= hi))
        else:  # e.g. 12-15..01-15, over New Year
            inside = inside | (month_day >= lo) | (month_day <= hi)
    return inside


# --- placement --------------------------------------------------------------------------
# Plain operators only, so each term runs on Python ints (the validator, one booking at a
# time) as fast as on numpy arrays (the flow).


def magnitude(value: Num) -> Num:
    # |value|, for an int and elementwise for an array alike (numpy's stubs type abs() of
    # the union as object, hence the cast).
    return cast(Num, abs(value))


def positive_part(value: Num) -> Num:
    # max(0, value), for an int and elementwise for an array alike.
    if isinstance(value, int):
        return value if value > 0 else 0
    return np.maximum(value, 0)


def processing_days(committed: Flag, committable: Flag, policy: Policy) -> Num:
    # An official outside every window waits longer for the visa; everyone else does not.
    slower = committable * (1 - committed)  # committable and not committed, as 0/1
    extra = policy.processing_days_uncommitted - policy.processing_days
    return policy.processing_days + extra * slower


def deadline(travel: Num, committed: Flag, committable: Flag, policy: Policy) -> Num:
    """The last local day the appointment may take place: travel date - processing time."""
    return travel - processing_days(committed, committable, policy)


def late_days(to_day: Num, deadline: Num) -> Num:
    # Whole days past the deadline (0 when on time).
    return positive_part(to_day - deadline)


def never_late(travel: int, committable: bool, days: IntArray, committed: BoolArray,
               policy: Policy) -> bool:
    """No day of `days` (with their commitment) is past this travel date's deadline: the
    lateness term is 0 wherever the booking goes among them."""
    return not bool(np.any(late_days(days, deadline(travel, committed, committable, policy))))


def changed_day(from_day: Num, to_day: Num) -> Flag:
    # Whether the new slot is on another local day than the original.
    return to_day != from_day


def distance_part(weight: Num, from_minute: Num, to_minute: Num) -> Num:
    """w x minutes between the original and the new start: the (day, slot) part."""
    return weight * magnitude(to_minute - from_minute)


def day_part(
    weight: Num, from_day: Num, to_day: Num, committed: Flag, travel: Num,
    committable: Flag, policy: Policy,
) -> Num:
    """w x (day change + lateness) on the new local day: the (class, day) part."""
    late = late_days(to_day, deadline(travel, committed, committable, policy))
    change: Num = policy.day_change_penalty * changed_day(from_day, to_day)
    return weight * (change + policy.late_day_penalty * late)


def placement_cost(
    weight: Num, from_minute: Num, from_day: Num, to_minute: Num, to_day: Num,
    committed: Flag, travel: Num, committable: Flag, policy: Policy,
) -> Num:
    """The whole cost of placing one booking: distance_part + day_part."""
    return distance_part(weight, from_minute, to_minute) + day_part(
        weight, from_day, to_day, committed, travel, committable, policy
    )


# --- unplaced ---------------------------------------------------------------------------


def unplaced_cost(weight: Num, from_day: Num, outage_day: Num, policy: Policy) -> Num:
    """Leaving someone without a slot (a person must call) is the worst outcome; the
    nearer their original date to the outage's start, the worse (v1.1 fairness)."""
    short = positive_part(policy.horizon_days - (from_day - outage_day))
    return weight * (policy.unplaced_penalty + policy.fairness_day_penalty * short)


# --- one booking, for the validator, the reasons and the advice --------------------------


def booking_deadline(booking: Displaced, to_day: date, policy: Policy) -> date | None:
    """The booking's deadline if its new slot is on `to_day`; None without travel date."""
    if booking.travel_date is None:
        return None
    last = deadline(booking.travel_date.toordinal(), booking_committed(to_day, policy),
                    committable(booking.category), policy)
    return date.fromordinal(int(last))


def booking_committed(day: date, policy: Policy) -> bool:
    return bool(committed(day.toordinal(), policy))


def booking_placement(booking: Displaced, to_start: datetime, to_day: date,
                      policy: Policy) -> int:
    """placement_cost of one booking moved to `to_start` (local date `to_day`)."""
    return int(placement_cost(
        weight(booking.category, policy), minute_of(booking.from_start),
        booking.from_day.toordinal(), minute_of(to_start), to_day.toordinal(),
        booking_committed(to_day, policy), travel_ordinal(booking.travel_date),
        committable(booking.category), policy,
    ))


def booking_unplaced(booking: Displaced, policy: Policy) -> int:
    """unplaced_cost of one booking."""
    return int(unplaced_cost(weight(booking.category, policy), booking.from_day.toordinal(),
                             booking.outage_day.toordinal(), policy))
