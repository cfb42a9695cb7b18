"""The reduced CP-SAT model: every decision that may appear in a plan cheaper than the
plan in hand (the hint), with its cost.

Two exact reductions keep the model small:
- the flow's pruning: a class never needs a slot dearer than its cheapest ones that hold
  the whole demand of its service (true with families too: full slots hold at most it);
- reduced-cost fixing: with the flow's duals every decision has a reduced cost >= 0 and
  a plan costs at least the dual bound plus them, so a decision whose reduced cost alone
  reaches the plan in hand (the hint) cannot be part of a cheaper plan.
So the model keeps every plan cheaper than the hint: its optimum is the true optimum (or
the hint is), and min(its bound, the hint's cost) is a true lower bound.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.scheduler.solver.bounds import Duals
from services.scheduler.solver.families import Family, SlotRef
from services.scheduler.solver.tables import BookingClass, ServiceSlots, class_costs

Assignment = dict[str, SlotRef | None]
Window = tuple[int, int]  # (local day ordinal, first start minute)
MAX_VARIABLES = 5_000  # measured: beyond this CP-SAT rarely improves or proves in a second


@dataclass
class ExactModel:
    """The decisions that may appear in a plan cheaper than the hint, with their costs."""

    class_arcs: list[list[tuple[SlotRef, int]]] = field(default_factory=list)
    member_arcs: dict[str, list[tuple[SlotRef, int]]] = field(default_factory=dict)
    windows: dict[str, list[Window]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return (sum(map(len, self.class_arcs)) + sum(map(len, self.member_arcs.values()))
                + sum(map(len, self.windows.values())))


def exact_model(
    singles: Sequence[BookingClass],
    together: Sequence[Family],
    duals: Duals,
    slack: int,
    demand: Mapping[str, int],
    hint: Assignment,
) -> ExactModel | None:
    """Every decision of a plan that costs less than dual bound + slack, and the hint's
    own (so that CP-SAT starts from it); None as soon as the model grows past
    MAX_VARIABLES."""
    model = ExactModel()
    tables = duals.reduced.tables
    for cls in singles:
        arcs = _class_arcs(cls, tables, duals, slack, demand[cls.service])
        hinted = {hint.get(m.booking_id) for m in cls.members} - {None} - {r for r, _ in arcs}
        if hinted:
            cost = class_costs(cls, tables[cls.service], duals.reduced.policy)
            arcs = sorted(arcs + [(r, int(cost[r[1]])) for r in hinted if r is not None])
        model.class_arcs.append(arcs)
        if model.size > MAX_VARIABLES:
            return None
    for family in together:
        _family_arcs(model, family, duals, slack)
        if model.size > MAX_VARIABLES:
            return None
    return model


def _class_arcs(
    cls: BookingClass, tables: Mapping[str, ServiceSlots], duals: Duals, slack: int,
    demand: int,
) -> list[tuple[SlotRef, int]]:
    table = tables.get(cls.service)
    if table is None or cls.reach == 0:
        return []
    cost = class_costs(cls, table, duals.reduced.policy)
    order = np.argsort(cost, kind="stable")
    enough = np.cumsum(table.free[: cls.reach][order]) >= demand
    cap = int(cost[order][int(enough.argmax())]) if enough.any() else int(cost.max())
    keep = (cost <= cap) & (cost < cls.unplaced) & (duals.class_reduced(cls) <= slack)
    return [((cls.service, int(i)), int(cost[i])) for i in np.flatnonzero(keep)]


def _family_arcs(model: ExactModel, family: Family, duals: Duals, slack: int) -> None:
    # Windows whose cheapest seating (reduced costs, capacity ignored) fits in the slack,
    # and the member arcs those windows cover.
    width = duals.reduced.policy.group_window_min
    options = [_by_day(_member_options(m.booking_id, duals, slack)) for m in family.members]
    anchors = [m for m, _ in family.anchors]
    anchor_days = {d for _, d in family.anchors}
    days = set.intersection(*(set(by_day) for by_day in options))
    if anchor_days:
        days &= anchor_days if len(anchor_days) == 1 else set()
    windows: list[Window] = []
    for day in sorted(days):
        starts = {o.minute for by_day in options for o in by_day[day]} | set(anchors)
        for start in sorted(starts):
            if anchors and not (start <= min(anchors) and start + width >= max(anchors)):
                continue
            cheapest = [_cheapest(by_day[day], start, start + width) for by_day in options]
            if all(c is not None for c in cheapest) and sum(c or 0 for c in cheapest) <= slack:
                windows.append((day, start))
    model.windows[family.group_id] = windows
    kept = _by_day_starts(windows)
    for member, by_day in zip(family.members, options, strict=True):
        model.member_arcs[member.booking_id] = [
            (o.ref, o.cost) for day, day_options in sorted(by_day.items())
            for o in day_options if _covered(kept.get(day, []), o.minute, width)
        ]


def _by_day(options: list["_Option"]) -> dict[int, list["_Option"]]:
    grouped: dict[int, list[_Option]] = {}
    for option in options:
        grouped.setdefault(option.day, []).append(option)  # already sorted by start
    return grouped


def _by_day_starts(windows: list[Window]) -> dict[int, list[int]]:
    starts: dict[int, list[int]] = {}
    for day, start in windows:
        starts.setdefault(day, []).append(start)
    return starts


def _cheapest(options: list["_Option"], lo: int, hi: int) -> int | None:
    minutes = [o.minute for o in options]
    inside = options[bisect_left(minutes, lo) : bisect_right(minutes, hi)]
    return min((o.reduced for o in inside), default=None)


def _covered(starts: list[int], minute: int, width: int) -> bool:
    # Some kept window [start, start + width] contains this minute.
    at = bisect_right(starts, minute)
    return at > 0 and starts[at - 1] + width >= minute


@dataclass(frozen=True)
class _Option:
    ref: SlotRef
    day: int
    minute: int
    cost: int
    reduced: int


def _member_options(booking_id: str, duals: Duals, slack: int) -> list[_Option]:
    # Every slot the member may take whose reduced cost fits in the slack.
    reduced = duals.reduced
    cls = reduced.class_of[booking_id]
    table = reduced.tables.get(cls.service)
    if table is None:
        return []
    rc = reduced.costs(cls.members[0])
    own = class_costs(cls, table, reduced.policy)
    keep = rc <= slack
    if cls.window is not None:
        day, lo, hi = cls.window
        minute = table.minute[: len(rc)]
        keep &= (table.day[: len(rc)] == day) & (minute >= lo) & (minute <= hi)
    return [_Option((cls.service, int(i)), int(table.day[i]), int(table.minute[i]),
                    int(own[i]), int(rc[i])) for i in np.flatnonzero(keep)]
