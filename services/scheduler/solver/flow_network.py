"""The pruned network the min-cost flow solves: arcs, their costs, and what they mean.

Per service:  class --direct--> slot --> sink,  class --> sink (unplaced),
and  class --> day hub --> slot  for whole days other than the class's own day.

Why day hubs: for a slot on another day the cost splits exactly into cost.day_part, which
depends on (class, day) only, and cost.distance_part, which adds up through the day's
first (later days) or last (earlier days) start: class -> hub pays the distance to that
start plus the day part, hub -> slot the rest of the distance. One arc per kept day then
replaces one per slot.

Why the pruning is exact: in an optimal flow a class only uses a slot if every strictly
cheaper slot of its is full, and full slots hold at most the service's whole demand D.
So a class never needs a slot dearer than tau, the price at which the cheapest of its
days already offer D places; days whose cheapest slot is dearer than tau are left out.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.scheduler.solver import cost
from services.scheduler.solver.cost import BoolArray, IntArray
from services.scheduler.solver.model import Policy
from services.scheduler.solver.tables import BookingClass, ServiceSlots, class_costs

INF = np.int64(2**60)
SINK = 0
DIRECT, TO_HUB, FROM_HUB, UNPLACED, TO_SINK = range(5)


@dataclass
class Network:
    """Arcs collected in numpy chunks, with what each arc means for decoding."""

    next_node: int
    # Capacity of every arc but slot -> sink: more than all supply, so no such arc is ever
    # saturated and the node potentials are duals of the plain transportation problem
    # (capped arcs would add duals of their own and leave the slot prices inconsistent).
    open: int = 0
    tails: list[IntArray] = field(default_factory=list)
    heads: list[IntArray] = field(default_factory=list)
    caps: list[IntArray] = field(default_factory=list)
    costs: list[IntArray] = field(default_factory=list)
    kinds: list[IntArray] = field(default_factory=list)
    slot_of_node: dict[int, tuple[str, int]] = field(default_factory=dict)

    def add(self, kind: int, tails: IntArray, heads: IntArray, caps: IntArray,
            costs: IntArray) -> None:
        self.tails.append(tails)
        self.heads.append(heads)
        self.caps.append(caps)
        self.costs.append(costs)
        self.kinds.append(np.full(len(tails), kind, dtype=np.int64))

    def open_caps(self, count: int) -> IntArray:
        return np.full(count, self.open, dtype=np.int64)

    def new_nodes(self, count: int) -> IntArray:
        nodes = np.arange(self.next_node, self.next_node + count, dtype=np.int64)
        self.next_node += count
        return nodes


def extra_arcs(
    net: Network, classes: Sequence[BookingClass], tables: Mapping[str, ServiceSlots],
    extra: Mapping[int, Sequence[int]], policy: Policy,
) -> None:
    """Direct arcs from given classes (by position) to given slots (table indices)."""
    node_of = {ref: node for node, ref in net.slot_of_node.items()}
    for position, indices in sorted(extra.items()):
        cls = classes[position]
        price = class_costs(cls, tables[cls.service], policy)
        wanted = [(node_of[(cls.service, i)], int(price[i])) for i in indices
                  if (cls.service, i) in node_of]
        net.add(DIRECT, np.full(len(wanted), position + 1, dtype=np.int64),
                np.array([n for n, _ in wanted], dtype=np.int64), net.open_caps(len(wanted)),
                np.array([c for _, c in wanted], dtype=np.int64))


@dataclass(frozen=True)
class _Days:
    """The usable slots of a service grouped by local day."""

    usable: IntArray  # table index of each usable slot
    minute: IntArray
    free: IntArray
    nodes: IntArray  # network node of each usable slot
    ordinal: IntArray  # per day
    committed: BoolArray  # per day: in a commitment window
    first: IntArray  # per day, position in `usable` of its first slot
    end: IntArray
    base: IntArray  # first start minute of the day
    top: IntArray  # last start minute of the day
    prefix_free: IntArray


def _days(net: Network, table: ServiceSlots, free: IntArray) -> _Days:
    usable = np.flatnonzero(free > 0).astype(np.int64)
    minute = table.minute[usable]
    ordinal, first = np.unique(table.day[usable], return_index=True)
    end = np.append(first[1:], len(usable)).astype(np.int64)
    nodes = net.new_nodes(len(usable))
    for node, index in zip(nodes.tolist(), usable.tolist(), strict=True):
        net.slot_of_node[node] = (table.service, index)
    net.add(TO_SINK, nodes, np.zeros_like(nodes), free[usable], np.zeros_like(nodes))
    return _Days(
        usable=usable, minute=minute, free=free[usable], nodes=nodes,
        ordinal=ordinal.astype(np.int64), committed=table.committed[usable][first],
        first=first.astype(np.int64), end=end, base=minute[first], top=minute[end - 1],
        prefix_free=np.concatenate([[0], np.cumsum(free[usable])]).astype(np.int64),
    )


def service_network(
    net: Network,
    classes: Sequence[BookingClass],
    indices: IntArray,
    table: ServiceSlots,
    free: IntArray,
    policy: Policy,
) -> None:
    """The arcs of the classes at `indices` (all of one service) into its slots."""
    if not (free > 0).any():
        return  # nothing left in this service: its classes can only stay unplaced
    days = _days(net, table, free)
    demand = sum(classes[i].size for i in indices.tolist())
    windowed = np.array([classes[i].window is not None for i in indices.tolist()], dtype=bool)
    for index in indices[windowed].tolist():
        _window_arcs(net, classes[index], index + 1, days, policy)
    indices = indices[~windowed]
    if len(indices) == 0:
        return
    picked = [classes[i] for i in indices.tolist()]
    col = _ClassColumns.of(picked, days)
    blocks = _day_blocks(col, days, policy)
    tau = _price_cap(blocks, demand)
    keep = (blocks.low <= tau[:, None]) & (blocks.low < col.unplaced[:, None]) & (
        blocks.free > 0
    )
    via_hub = keep & blocks.whole & ~blocks.same
    _hub_arcs(net, col, days, blocks, via_hub, indices + 1)
    _direct_arcs(net, col, days, blocks, keep & ~via_hub, tau, indices + 1)


@dataclass(frozen=True)
class _ClassColumns:
    """Per-class numbers as column vectors, for class x day arithmetic."""

    minute: IntArray
    day: IntArray
    weight: IntArray
    travel: IntArray
    committable: BoolArray
    reach: IntArray  # usable slots [0, reach) are within the horizon
    size: IntArray
    unplaced: IntArray

    @staticmethod
    def of(picked: list[BookingClass], days: _Days) -> "_ClassColumns":
        def column(values: list[int]) -> IntArray:
            return np.array(values, dtype=np.int64)[:, None]

        reach = np.searchsorted(days.usable, np.array([c.reach for c in picked]))
        return _ClassColumns(
            minute=column([c.from_minute for c in picked]),
            day=column([c.from_day for c in picked]),
            weight=column([c.weight for c in picked]),
            travel=column([c.travel for c in picked]),
            committable=np.array([c.committable for c in picked], dtype=np.bool_)[:, None],
            reach=reach.astype(np.int64)[:, None],
            size=np.array([c.size for c in picked], dtype=np.int64),
            unplaced=np.array([c.unplaced for c in picked], dtype=np.int64),
        )


@dataclass(frozen=True)
class _Blocks:
    """class x day: price range [low, high] of the day's reachable slots, and their places."""

    low: IntArray
    high: IntArray
    free: IntArray
    end: IntArray  # position past the last reachable slot of the day
    day: IntArray  # cost.day_part of the class on the day
    whole: BoolArray  # every slot of the day is within reach
    same: BoolArray  # the class's own day
    later: BoolArray


def _day_blocks(col: _ClassColumns, days: _Days, policy: Policy) -> _Blocks:
    end = np.maximum(np.minimum(days.end[None, :], col.reach), days.first[None, :])
    free = days.prefix_free[end] - days.prefix_free[days.first][None, :]
    day = cost.ints(cost.day_part(col.weight, col.day, days.ordinal[None, :],
                                  days.committed[None, :], col.travel, col.committable, policy))
    later = days.ordinal[None, :] > col.day
    earlier = days.ordinal[None, :] < col.day
    same = ~later & ~earlier
    # Times move linearly: on another day the nearest start is the day's first (later
    # days) or last (earlier days), the farthest the other end.
    to_base = cost.ints(cost.distance_part(col.weight, col.minute, days.base[None, :]))
    to_top = cost.ints(cost.distance_part(col.weight, col.minute, days.top[None, :]))
    low = np.where(later, to_base, np.where(earlier, to_top, 0)) + day
    high = np.where(later, to_top, np.where(earlier, to_base, np.maximum(to_base, to_top))) + day
    empty = free <= 0
    return _Blocks(
        low=np.where(empty, INF, low), high=np.where(empty, INF, high), free=free, end=end,
        day=day, whole=end >= days.end[None, :], same=same, later=later,
    )


def _price_cap(blocks: _Blocks, demand: int) -> IntArray:
    # tau per class: the dearest price among its cheapest days that together hold `demand`.
    order = np.argsort(blocks.high, axis=1, kind="stable")
    high = np.take_along_axis(blocks.high, order, axis=1)
    enough = np.cumsum(np.take_along_axis(blocks.free, order, axis=1), axis=1) >= demand
    first = enough.argmax(axis=1)
    capped = high[np.arange(len(high)), first]
    return np.where(enough.any(axis=1), capped, INF)


def _hub_arcs(
    net: Network, col: _ClassColumns, days: _Days, blocks: _Blocks, via_hub: BoolArray,
    class_nodes: IntArray,
) -> None:
    # One hub per (weight, day, side): class -> hub pays the distance to the day's nearer
    # end plus the day part; hub -> slot pays the distance on from that end.
    rows, day_index = np.nonzero(via_hub)
    if len(rows) == 0:
        return
    later = blocks.later[rows, day_index].astype(np.int64)
    code = (col.weight[rows, 0] * len(days.ordinal) + day_index) * 2 + later
    codes, hub_of_pair = np.unique(code, return_inverse=True)
    hubs = net.new_nodes(len(codes))
    net.add(TO_HUB, class_nodes[rows], hubs[hub_of_pair], net.open_caps(len(rows)),
            blocks.low[rows, day_index])
    for hub, hub_code in zip(hubs.tolist(), codes.tolist(), strict=True):
        weight, rest = divmod(hub_code // 2, len(days.ordinal))
        span = slice(int(days.first[rest]), int(days.end[rest]))
        minute = days.minute[span]
        near_end = days.base[rest] if hub_code % 2 else days.top[rest]
        net.add(FROM_HUB, np.full(len(minute), hub, dtype=np.int64), days.nodes[span],
                net.open_caps(len(minute)),
                cost.ints(cost.distance_part(weight, int(near_end), minute)))


def _direct_arcs(
    net: Network, col: _ClassColumns, days: _Days, blocks: _Blocks, direct: BoolArray,
    tau: IntArray, class_nodes: IntArray,
) -> None:
    for row, day_index in zip(*(a.tolist() for a in np.nonzero(direct)), strict=True):
        span = slice(int(days.first[day_index]), int(blocks.end[row, day_index]))
        price = cost.ints(cost.distance_part(int(col.weight[row, 0]), int(col.minute[row, 0]),
                                             days.minute[span])) + blocks.day[row, day_index]
        worth = (price <= tau[row]) & (price < col.unplaced[row])
        count = int(worth.sum())
        net.add(DIRECT, np.full(count, class_nodes[row], dtype=np.int64),
                days.nodes[span][worth], net.open_caps(count), price[worth])


def _window_arcs(
    net: Network, cls: BookingClass, node: int, days: _Days, policy: Policy
) -> None:
    # A member who must join family members staying put may only go near them.
    if cls.window is None:
        return
    day, lo, hi = cls.window
    reach = int(np.searchsorted(days.usable, cls.reach))
    at = np.flatnonzero(days.ordinal == day)
    if len(at) == 0:
        return
    span = slice(int(days.first[at[0]]), min(int(days.end[at[0]]), reach))
    minute = days.minute[span]
    price = cost.ints(cost.placement_cost(
        cls.weight, cls.from_minute, cls.from_day, minute, day, bool(days.committed[at[0]]),
        cls.travel, cls.committable, policy))
    fits = (minute >= lo) & (minute <= hi) & (price < cls.unplaced)
    count = int(fits.sum())
    net.add(DIRECT, np.full(count, node, dtype=np.int64), days.nodes[span][fits],
            net.open_caps(count), price[fits])
